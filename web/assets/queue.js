// The retention queue's only script: filters apply on change, and outcome buttons post
// to /queue/outcome with the page's CSRF value (the session cookie goes along).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-filter]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  const form = document.getElementById("outcome-form");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const status = document.getElementById("outcome-status");
  for (const button of form.querySelectorAll("button[data-outcome]")) {
    button.addEventListener("click", async () => {
      status.textContent = "recording...";
      const response = await fetch("/queue/outcome", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({
          customer_id: form.dataset.customer,
          alert_id: form.dataset.alert,
          outcome: button.dataset.outcome,
          note: form.elements.note.value,
        }),
      });
      if (response.ok) {
        status.textContent = "recorded: " + button.textContent;
        window.location.reload();
      } else {
        status.textContent = "not recorded: " + (await response.text());
      }
    });
  }
});
