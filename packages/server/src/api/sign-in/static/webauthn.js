// The sign-in page's only script: runs the browser's WebAuthn ceremony for forms marked
// data-webauthn="get" (sign in) or "create" (register), then submits the result as JSON.
'use strict';
(function () {
  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
    var text = atob(base64 + '==='.slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }
  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function withIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: toBytes(c.id) });
    });
  }
  function serialise(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    });
  }
  function run(form, event) {
    event.preventDefault();
    var status = form.querySelector('[data-webauthn-status]');
    var say = function (text) {
      if (status) status.textContent = text;
    };
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say('This browser cannot use passkeys or security keys here.');
      return;
    }
    var options = JSON.parse(form.getAttribute('data-options'));
    options.challenge = toBytes(options.challenge);
    var ceremony;
    if (form.getAttribute('data-webauthn') === 'create') {
      options.user = Object.assign({}, options.user, { id: toBytes(options.user.id) });
      options.excludeCredentials = withIds(options.excludeCredentials);
      ceremony = navigator.credentials.create({ publicKey: options });
    } else {
      options.allowCredentials = withIds(options.allowCredentials);
      ceremony = navigator.credentials.get({ publicKey: options });
    }
    say('Follow your browser\u2019s prompt\u2026');
    ceremony.then(
      function (credential) {
        form.querySelector('input[name="credential"]').value = serialise(credential);
        form.submit();
      },
      function () {
        say('That did not work, or it was cancelled. You can try again.');
      },
    );
  }
  document.addEventListener('DOMContentLoaded', function () {
    var forms = document.querySelectorAll('form[data-webauthn]');
    for (var i = 0; i < forms.length; i++) {
      forms[i].addEventListener('submit', run.bind(null, forms[i]));
    }
  });
})();
