// Draws the commune boundaries on the overview map; no tile server is needed offline.
(function () {
  "use strict";
  const el = document.getElementById("province-map");
  if (!el || !window.L) return;
  const map = L.map(el, { zoomSnap: 0.25, preferCanvas: false });
  const selection = document.getElementById("map-selection");
  const codeLabel = el.dataset.labelCode || "code";
  let selected = null;
  const baseStyle = { color: "#1f4e79", weight: 1, fillColor: "#9cc3e6", fillOpacity: 0.35 };
  const selectedStyle = { color: "#b3261e", weight: 2, fillColor: "#f2b8b5", fillOpacity: 0.6 };

  fetch(el.dataset.geojson, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(function (data) {
      const layer = L.geoJSON(data, {
        style: baseStyle,
        onEachFeature: function (feature, lyr) {
          const p = feature.properties;
          lyr.bindTooltip(p.name, { sticky: true });
          lyr.on("click", function () {
            if (selected) selected.setStyle(baseStyle);
            selected = lyr;
            lyr.setStyle(selectedStyle);
            selection.textContent = p.name + " — " + codeLabel + " " + p.code;
            selection.dataset.code = p.code;
          });
          if (lyr.getElement) {
            lyr.on("add", function () {
              const path = lyr.getElement();
              if (path) path.setAttribute("data-code", p.code);
            });
          }
        },
      }).addTo(map);
      map.fitBounds(layer.getBounds());
      el.dataset.loaded = String(data.features.length);
    })
    .catch(function (err) {
      selection.textContent = "⚠ " + err.message;
    });
})();
