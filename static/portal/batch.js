// Progressive enhancement of the batch pages: a dropped set of files is taken like chosen
// ones and goes to the check step at once (nothing is sent before the confirmation), and
// the end of a running batch is announced. Without it the pages are plain form posts and a
// self-refreshing table.
(function () {
  "use strict";

  // portal.js's drop zone turns a drop into a choice; a choice goes to the check step.
  function enhanceBatchForm(form) {
    var input = form.querySelector("input[type=file]");
    input.addEventListener("change", function () {
      if (input.files.length) form.submit();
    });
  }

  // The table is swapped in whole (outerHTML) every second: look it up again once settled.
  function onBatchSettle() {
    var progress = document.getElementById("batch-progress");
    if (!progress || progress.getAttribute("data-batch-state") !== "finished") return;
    if (progress.hasAttribute("data-announced")) return;
    progress.setAttribute("data-announced", "");
    var status = progress.querySelector("[data-announce]");
    var region = document.getElementById("announcer");
    if (status && region) region.textContent = status.getAttribute("data-announce");
    var zip = document.getElementById("batch-zip");
    if (zip) zip.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("batch-form");
    if (form) enhanceBatchForm(form);
    document.body.addEventListener("htmx:afterSettle", onBatchSettle);
  });
})();
