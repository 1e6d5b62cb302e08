// fundguard console: small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Ask before a decision or a promotion is written.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // Rows of a table with data-href open their page when clicked.
  document.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a, button, input")) { window.location = row.getAttribute("data-href"); }
  });
})();
