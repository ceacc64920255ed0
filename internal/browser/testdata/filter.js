// Filters the customer rows as the state select changes: a script in its
// own file, as the dashboard's Content-Security-Policy (script-src 'self')
// requires.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const state = document.getElementById("f-state");
  const apply = () => {
    for (const row of document.querySelectorAll("#customers tr.customer")) {
      row.hidden = state.value !== "" && row.dataset.state !== state.value;
    }
  };
  state.addEventListener("change", apply);
  apply();
});
