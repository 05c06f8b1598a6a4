// nx-campaign dashboard: marks when the live part of the page was last refreshed.
document.addEventListener('htmx:afterSwap', function (e) {
  if (e.target && e.target.id === 'live') {
    var u = document.getElementById('updated');
    if (u) u.textContent = 'updated ' + new Date().toLocaleTimeString();
    document.body.dataset.swaps = String(Number(document.body.dataset.swaps || '0') + 1);
  }
});
