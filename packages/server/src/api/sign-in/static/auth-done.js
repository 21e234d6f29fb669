// Spec "Fallback" (user-interactive auth): tell the client that opened this page that the stage is done.
if (window.onAuthDone) {
  window.onAuthDone();
} else if (window.opener && window.opener.postMessage) {
  window.opener.postMessage('authDone', '*');
}
