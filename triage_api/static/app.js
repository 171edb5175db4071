// Evidence stays blurred until an analyst clicks it, and blurs again when the pointer leaves.
document.addEventListener("click", (event) => {
  const image = event.target.closest("figure.evidence img");
  if (!image) return;
  image.classList.toggle("revealed");
  image.classList.toggle("blurred");
});
document.addEventListener("mouseout", (event) => {
  const image = event.target.closest && event.target.closest("figure.evidence img.revealed");
  if (image) { image.classList.remove("revealed"); image.classList.add("blurred"); }
});
document.addEventListener("visibilitychange", () => {
  document.querySelectorAll("figure.evidence img.revealed").forEach((image) => {
    image.classList.remove("revealed"); image.classList.add("blurred");
  });
});
