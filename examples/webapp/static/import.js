// The example app's only script. On the home page it opens the picking tab and starts an
// import; on an import's page it polls the app until the import is done, then shows it.
(function () {
  'use strict';

  var POLL_MS = 1000; // how often the page asks the app (the app polls Google as it says)

  function showProblem(problem) {
    var box = document.getElementById('import-problem');
    if (!box) { return; }
    box.querySelector('.problem-title').textContent = problem.title;
    box.querySelector('.problem-what').textContent = problem.what;
    box.querySelector('.problem-todo').textContent = problem.todo;
    box.hidden = false;
  }

  // Home: "Import from Google Photos". The tab is opened at once, in the click itself (a
  // browser blocks a window opened later), then sent to the pickerUri the app answers with.
  var form = document.getElementById('import-form');
  if (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var button = form.querySelector('button');
      button.disabled = true;
      var tab = window.open('', 'google-photos');
      fetch(form.action, {
        method: 'POST',
        body: new FormData(form),
        headers: {'Accept': 'application/json'},
        credentials: 'same-origin'
      }).then(function (response) {
        return response.json();
      }).then(function (answer) {
        if (!answer.autocloseUri) {
          throw answer.problem || {title: 'The import did not start', what: '', todo: 'Try again.'};
        }
        if (tab) {
          tab.opener = null; // Google's page gets no handle on the app's page
          tab.location.href = answer.autocloseUri;
        }
        window.location.href = answer.url;
      }).catch(function (problem) {
        if (tab) { tab.close(); }
        button.disabled = false;
        showProblem(problem && problem.title ? problem : {
          title: 'The app could not be reached', what: String(problem), todo: 'Try again.'
        });
      });
    });
  }

  // An import's page: follow its state; a new state reloads the page, which shows it.
  var status = document.getElementById('import-status');
  if (status && (status.dataset.state === 'waiting' || status.dataset.state === 'importing')) {
    var poll = function () {
      fetch(status.dataset.url, {headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (answer.state !== status.dataset.state || answer.problem) {
            window.location.reload();
          } else {
            window.setTimeout(poll, POLL_MS);
          }
        })
        .catch(function () { window.setTimeout(poll, POLL_MS * 5); });
    };
    window.setTimeout(poll, POLL_MS);
  }
})();
