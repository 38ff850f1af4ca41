// Alert center page: a map of the alerts over the commune boundaries (no tile server, so it
// works offline like province-map.js), the live list fed by Server-Sent Events, and the
// select-all box of the bulk-acknowledge form. The page works without it, minus live updates.
(function () {
  "use strict";
  const ACTIVE = ["new", "acknowledged", "in_progress"];
  const RANK = { critical: 4, major: 3, minor: 2, warning: 1, info: 0 };
  const form = document.getElementById("alert-filters");
  const mapEl = document.getElementById("alert-map");
  const markers = new Map(); // alert id -> Leaflet circle marker
  let layer = null;

  function popup(m) {
    // Built from DOM nodes so that a title can never inject markup.
    const box = document.createElement("div");
    const link = document.createElement("a");
    link.href = m.url;
    link.textContent = m.title;
    const meta = document.createElement("div");
    meta.textContent = m.severity_label + " · " + m.status_label;
    box.append(link, meta);
    return box;
  }

  function removeMarker(id) {
    const old = markers.get(id);
    if (old && layer) layer.removeLayer(old);
    markers.delete(id);
  }

  function addMarker(m) {
    if (!layer || m.lat === null || m.lon === null || m.lat === undefined) return;
    removeMarker(m.id);
    const marker = L.circleMarker([m.lat, m.lon], {
      pane: "alerts", radius: 6 + (RANK[m.severity] || 0) * 1.5, color: "#fff", weight: 1.5,
      fillColor: m.color, fillOpacity: 0.92,
    });
    marker.bindTooltip(m.title).bindPopup(popup(m));
    marker.addTo(layer);
    const path = marker.getElement && marker.getElement();
    if (path) path.setAttribute("data-alert", String(m.id));
    markers.set(m.id, marker);
  }

  function markersUrl() {
    const params = form ? new URLSearchParams(new FormData(form)) : new URLSearchParams();
    params.delete("page");
    params.delete("sort");
    return mapEl.dataset.markers + "?" + params.toString();
  }

  function loadMarkers() {
    fetch(markersUrl(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        layer.clearLayers();
        markers.clear();
        data.markers.forEach(addMarker);
        mapEl.dataset.markerCount = String(data.markers.length);
      })
      .catch(function (err) { mapEl.title = err.message; });
  }

  if (mapEl && window.L) {
    const map = L.map(mapEl, { zoomSnap: 0.25 }).setView([12.9, 108.3], 8);
    map.createPane("alerts").style.zIndex = 450; // above the boundaries, below popups
    layer = L.layerGroup().addTo(map);
    fetch(mapEl.dataset.geojson, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        const base = L.geoJSON(data, {
          style: { color: "#1f4e79", weight: 0.7, fillColor: "#dbe7f3", fillOpacity: 0.55 },
          onEachFeature: function (feature, lyr) { lyr.bindTooltip(feature.properties.name, { sticky: true }); },
        }).addTo(map);
        map.fitBounds(base.getBounds());
      })
      .catch(function (err) { mapEl.title = err.message; });
    loadMarkers();
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (event.detail.target && event.detail.target.id === "alert-results") loadMarkers();
    });
  }

  // -- live list ------------------------------------------------------------------------------
  const list = document.getElementById("live-list");
  const status = document.getElementById("live-status");
  const banner = document.getElementById("new-alerts");

  function setStatus(on) {
    if (!status) return;
    status.textContent = on ? status.dataset.on : status.dataset.off;
    status.classList.toggle("on", on);
    status.classList.toggle("off", !on);
  }

  function showAlert(data) {
    const template = document.createElement("template");
    template.innerHTML = data.html.trim(); // rendered and escaped by the server
    const item = template.content.firstElementChild;
    const old = document.getElementById("live-" + data.id);
    if (old) old.remove();
    item.classList.add("fresh");
    list.prepend(item);
    while (list.children.length > 50) list.lastElementChild.remove();
    const empty = document.getElementById("live-empty");
    if (empty) empty.remove();
    if (ACTIVE.indexOf(data.status) >= 0) addMarker(data); else removeMarker(data.id);
    const row = document.getElementById("alert-row-" + data.id);
    if (banner && (data.created || row)) banner.classList.add("shown");
  }

  if (list && window.EventSource) {
    const source = new EventSource(list.dataset.stream);
    source.addEventListener("open", function () { setStatus(true); });
    source.addEventListener("error", function () { setStatus(false); }); // it reconnects itself
    source.addEventListener("alert", function (event) { showAlert(JSON.parse(event.data)); });
    source.addEventListener("end", function () { source.close(); setStatus(false); });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  const reload = document.getElementById("reload-results");
  if (reload && form) {
    reload.addEventListener("click", function () {
      banner.classList.remove("shown");
      form.requestSubmit();
    });
  }

  // -- bulk acknowledge: the select-all box (delegated, the table is swapped by HTMX) --------
  document.addEventListener("change", function (event) {
    if (event.target.id !== "select-all") return;
    document.querySelectorAll("#bulk-form input[name=ids]:not(:disabled)").forEach(function (box) {
      box.checked = event.target.checked;
    });
  });
})();
