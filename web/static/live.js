// Live numbers for one import's page: poll its status every 2 s (the
// session cookie goes along, same origin) and update the page; reload
// once the import has ended so that failures and verification show.
(function () {
  "use strict";
  var root = document.getElementById("import");
  if (!root || root.dataset.done === "true") { return; }
  var url = "/-/imports/" + root.dataset.project + "/status.json";
  function text(id, v) { var el = document.getElementById(id); if (el) { el.textContent = v; } }
  function row(rel) {
    var rows = document.querySelectorAll("#relations tr[data-relation]");
    for (var i = 0; i < rows.length; i++) { if (rows[i].dataset.relation === rel.name) { return rows[i]; } }
    return null;
  }
  function update(s) {
    if (s.done) { window.location.reload(); return; }
    var st = document.getElementById("status");
    st.textContent = s.status; st.className = "status status-" + s.status;
    text("stage", s.stage || "");
    text("duration", s.duration || "");
    text("eta", s.eta || "not known yet");
    var rl = document.getElementById("ratelimit");
    if (s.rate_limit_until) {
      rl.hidden = false;
      var t = document.getElementById("ratelimit-until");
      t.setAttribute("datetime", s.rate_limit_until);
      t.textContent = new Date(s.rate_limit_until).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    } else { rl.hidden = true; }
    var missing = false;
    (s.relations || []).forEach(function (rel) {
      var tr = row(rel);
      if (!tr) { missing = true; return; }
      var max = rel.total > 0 ? Math.max(rel.total, rel.fetched) : Math.max(rel.fetched, 1);
      tr.querySelector(".state").textContent = rel.state;
      [["fetched", rel.fetched], ["imported", rel.imported], ["failed", rel.failed]].forEach(function (p) {
        var bar = tr.querySelector("progress." + p[0]);
        bar.max = max; bar.value = p[1];
        tr.querySelector(".n-" + p[0]).textContent = p[1];
      });
      tr.querySelector(".n-total").textContent = rel.total >= 0 ? rel.total : "?";
      var tf = tr.querySelector(".transfer");
      tf.hidden = !(rel.transfer_total > 0);
      tr.querySelector(".n-transfer").textContent = rel.transfer_done;
      tr.querySelector(".n-transfer-total").textContent = rel.transfer_total;
    });
    // A relation the page does not list yet (a new stage started):
    // the server renders it.
    if (missing) { window.location.reload(); }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(update)
      .catch(function () { /* try again at the next tick */ })
      .finally(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();
