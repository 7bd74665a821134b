// Small improvements for browsers with JavaScript; every page works without them.
(function () {
  'use strict';
  // After a failed post, take keyboard and screen-reader users straight to the list of problems.
  var summary = document.getElementById('error-summary');
  if (summary) summary.focus();
})();
