// Live preview of a tenant's brand in the admin: name, colours and the contrast they give.
(function () {
  "use strict";

  function luminance(hex) {
    var channels = [1, 3, 5].map(function (i) {
      var c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  }

  function contrastWithWhite(hex) {
    return 1.05 / (luminance(hex) + 0.05);
  }

  function update() {
    var preview = document.querySelector("[data-brand-preview]");
    if (!preview) return;
    var primary = document.getElementById("id_primary_color");
    var accent = document.getElementById("id_accent_color");
    var name = document.getElementById("id_name");
    var p = primary && /^#[0-9a-fA-F]{6}$/.test(primary.value) ? primary.value : "#1f5fbf";
    var a = accent && /^#[0-9a-fA-F]{6}$/.test(accent.value) ? accent.value : p;
    preview.querySelector("[data-preview-name]").textContent = (name && name.value) || preview.dataset.defaultName;
    preview.querySelector("[data-preview-mark]").style.background =
      "linear-gradient(135deg, " + p + ", " + a + ")";
    preview.querySelector("[data-preview-link]").style.color = p;
    preview.querySelector("[data-preview-button]").style.background = p;
    var ratios = [contrastWithWhite(p), contrastWithWhite(a)];
    var ok = ratios.every(function (r) { return r >= 4.5; });
    var contrast = preview.dataset.contrast
      .replace("{primary}", ratios[0].toFixed(2))
      .replace("{accent}", ratios[1].toFixed(2));
    preview.querySelector("[data-preview-contrast]").textContent =
      contrast + " " + (ok ? preview.dataset.passes : preview.dataset.tooLow);
  }

  document.addEventListener("DOMContentLoaded", function () {
    ["id_primary_color", "id_accent_color", "id_name"].forEach(function (id) {
      var field = document.getElementById(id);
      if (field) field.addEventListener("input", update);
    });
    update();
  });
})();
