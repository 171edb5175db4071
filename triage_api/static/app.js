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

// Decisions from the keyboard: a key named by a button's data-key presses it, unless the analyst
// is typing in a field (Escape leaves the field).
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const field = event.target.closest && event.target.closest("input, select, textarea");
  if (field) {
    if (event.key === "Escape") field.blur();
    return;
  }
  const button = document.querySelector(`button[data-key="${CSS.escape(event.key)}"]`);
  if (!button) return;
  event.preventDefault();
  if (button.value === "duplicate") {
    const number = document.querySelector("#decide input[name=duplicate_of]");
    if (number && !number.value) { number.focus(); return; }
  }
  button.click();
});
