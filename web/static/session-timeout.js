// Warns two minutes before the idle timeout of a signed-in session and offers to stay signed in
// (WCAG 2.2.1 Timing Adjustable). Without JavaScript nothing here runs and the server's timeout
// holds all the same. Texts come from the page, so this file has none of its own.
(function () {
  'use strict';
  var dialog = document.getElementById('session-warning');
  if (!dialog || typeof dialog.showModal !== 'function') return;
  var idle = Number(dialog.getAttribute('data-idle-seconds')) * 1000;
  var warn = Number(dialog.getAttribute('data-warn-seconds')) * 1000;
  if (!(idle > warn)) return;
  var warnTimer;
  var endTimer;

  function schedule() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(function () {
      dialog.showModal();
      document.getElementById('session-stay').focus();
    }, idle - warn);
    endTimer = setTimeout(function () {
      window.location.assign('/account/sign-in');
    }, idle);
  }

  document.getElementById('session-stay').addEventListener('click', function () {
    // Any signed-in request counts as activity; this one changes nothing.
    fetch('/api/v1/account', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (response.ok) {
          dialog.close();
          schedule();
        } else {
          window.location.assign('/account/sign-in');
        }
      })
      .catch(function () {
        dialog.close();
      });
  });
  // Escape closes the warning without extending the session: the end still comes on time.
  schedule();
})();
