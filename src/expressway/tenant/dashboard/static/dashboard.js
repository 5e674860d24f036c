// The dashboard's only script, loaded from its own origin (no inline script is allowed).
// Copy buttons: <button data-copy="ID"> copies the text of the element with that id.
"use strict";

function announce(button, message) {
  const status = document.getElementById(button.getAttribute("aria-describedby") || "");
  if (status) {
    status.textContent = message;
  }
}

async function copyText(button) {
  const source = document.getElementById(button.dataset.copy);
  if (!source) {
    return;
  }
  const text = source.textContent;
  try {
    await navigator.clipboard.writeText(text);
    announce(button, "Copied to the clipboard.");
  } catch (_) {
    // Without clipboard access (an http page in some browsers), select the text instead, so
    // that the keyboard's copy shortcut takes it.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    announce(button, "Selected: press Ctrl+C (or ⌘C) to copy.");
  }
}

// A file chosen for a .pem field fills the text area beside it, so it can be checked before upload.
function readPemFile(input) {
  const target = document.getElementById(input.dataset.pemTarget);
  const file = input.files && input.files[0];
  if (!target || !file) {
    return;
  }
  file.text().then((text) => {
    target.value = text;
  });
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (button) {
    event.preventDefault();
    copyText(button);
  }
});

document.addEventListener("change", (event) => {
  const input = event.target;
  if (input.matches && input.matches("input[type=file][data-pem-target]")) {
    readPemFile(input);
  }
});

// Buttons that change or remove something ask first when they say so.
document.addEventListener("submit", (event) => {
  const question = event.submitter && event.submitter.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
