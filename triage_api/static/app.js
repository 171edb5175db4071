// Pictures arrive blurred and greyscale from the server. A click asks the server to reveal
// one (counted per analyst and day, possibly capped), then loads the original; leaving the
// picture, or the tab, puts the blurred copy back.
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

function blur(image) {
  image.classList.remove("revealed");
  image.classList.add("blurred");
  image.src = `/api/v1/evidence/${image.dataset.sha256}`;
}

async function reveal(image) {
  const answer = await fetch(`/api/v1/evidence/${image.dataset.sha256}/reveal`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify({ case_id: Number(image.dataset.case) || null }),
  });
  const refused = document.getElementById("reveal-refused");
  if (!answer.ok) {
    const detail = (await answer.json().catch(() => ({}))).detail || answer.statusText;
    if (refused) { refused.textContent = detail; refused.hidden = false; }
    return;
  }
  const seen = await answer.json();
  const counter = document.querySelector("#exposure b");
  if (counter) counter.textContent = seen.revealed_today;
  image.src = `/api/v1/evidence/${image.dataset.sha256}?view=full`;
  image.classList.remove("blurred");
  image.classList.add("revealed");
}

document.addEventListener("click", (event) => {
  const image = event.target.closest("figure.evidence img[data-sha256]");
  if (!image) return;
  if (image.classList.contains("revealed")) blur(image); else reveal(image);
});
document.addEventListener("mouseout", (event) => {
  const image = event.target.closest && event.target.closest("figure.evidence img.revealed");
  if (image) blur(image);
});
document.addEventListener("visibilitychange", () => {
  document.querySelectorAll("figure.evidence img.revealed").forEach(blur);
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
