// Touchbase dashboard: live filtering and column sorting on the overview,
// and times in the viewer's zone. The pages work without it.
"use strict";
(function () {
  // Absolute times: the server wrote them in the configured zone; show
  // them in the viewer's. Relative ones keep their text and get the
  // viewer's time as a tooltip.
  function localTimes() {
    var fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      if (el.classList.contains("rel")) el.title = fmt.format(d);
      else el.textContent = fmt.format(d);
    });
  }

  function filters(form, rows) {
    var state = form.querySelector("#f-state"), owner = form.querySelector("#f-owner"),
      tier = form.querySelector("#f-tier"), q = form.querySelector("#f-q"), shown = document.getElementById("shown");
    function apply() {
      var needle = q.value.trim().toLowerCase(), n = 0;
      rows().forEach(function (tr) {
        var ok = (!state.value || tr.dataset.state === state.value) &&
          (!owner.value || tr.dataset.owner === owner.value) &&
          (!tier.value || tr.dataset.tier === tier.value) &&
          (!needle || tr.dataset.id.toLowerCase().indexOf(needle) >= 0 ||
            (tr.dataset.name || "").toLowerCase().indexOf(needle) >= 0);
        tr.hidden = !ok;
        if (ok) n++;
      });
      if (shown) shown.textContent = String(n);
    }
    [state, owner, tier].forEach(function (el) { el.addEventListener("change", apply); });
    q.addEventListener("input", apply);
    apply();
  }

  function sorting(table) {
    var body = table.tBodies[0];
    table.querySelectorAll("thead th button").forEach(function (btn) {
      btn.addEventListener("click", function (ev) {
        ev.preventDefault(); // sort here rather than reload the page
        var col = btn.closest("th").cellIndex, numeric = btn.dataset.type === "number";
        var dir = btn.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        table.querySelectorAll("thead th button").forEach(function (b) { b.removeAttribute("aria-sort"); });
        btn.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
          return (x < y ? -1 : x > y ? 1 : 0) * dir;
        });
        rows.forEach(function (tr) { body.appendChild(tr); });
      });
    });
  }

  function key(cell, numeric) {
    var v = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    return numeric ? Number(v) : v.toLowerCase();
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes();
    var table = document.getElementById("customers"), form = document.getElementById("filters");
    if (!table || !form) return;
    filters(form, function () { return Array.prototype.slice.call(table.tBodies[0].rows); });
    sorting(table);
  });
})();
