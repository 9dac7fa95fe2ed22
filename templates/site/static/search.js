/* Search: Pagefind's UI over shard 0, with every other shard merged in.
   Paths are worked out from this page's address, so the site works from a sub-folder. */
(function () {
  "use strict";
  var box = document.getElementById("search");
  if (!box) return;
  if (location.protocol === "file:") {
    document.getElementById("search-offline").hidden = false;
    return;
  }
  var root = new URL(box.getAttribute("data-root") || "./", location.href).pathname;
  var shards = (box.getAttribute("data-shards") || "").split(" ").filter(Boolean);
  var ui = new PagefindUI({
    element: "#search",
    bundlePath: root + "pagefind/" + shards[0] + "/",
    baseUrl: root,
    mergeIndex: shards.slice(1).map(function (name) { return { bundlePath: root + "pagefind/" + name + "/" }; }),
    showImages: false,
    showSubResults: false,
    resetStyles: false,
    autofocus: true
  });
  var query = new URLSearchParams(location.search).get("q");
  if (query) ui.triggerSearch(query);
})();
