// Passkeys (WebAuthn) for browsers that support them. Without this script, or without
// `PublicKeyCredential`, the passkey controls stay hidden and the pages say that passkeys need
// a browser that supports them; signing in with the password is unaffected.
//
// The ceremony page carries the server's options (JSON, binary values as unpadded base64url)
// in `data-options`. The script turns those values into ArrayBuffers, asks the authenticator
// (`navigator.credentials.create()` or `.get()`), writes its answer as JSON with base64url
// values into the hidden `credential` field and submits the form. Cancelled or failed: an
// alert, and the button tries again with the same challenge (valid for five minutes).
(function () {
  'use strict';
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  document.querySelectorAll('[data-passkey-control]').forEach(function (el) {
    el.hidden = false;
  });
  var needs = document.getElementById('passkey-needs-support');
  if (needs) needs.hidden = true;

  var form = document.getElementById('passkey-ceremony');
  if (!form) return;

  function fromBase64url(text) {
    var base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    while (base64.length % 4) base64 += '=';
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = '';
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function credentialList(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = fromBase64url(c.id);
      return copy;
    });
  }

  var kind = form.getAttribute('data-kind');
  var options = JSON.parse(form.getAttribute('data-options'));
  var publicKey = options.publicKey;
  publicKey.challenge = fromBase64url(publicKey.challenge);
  if (kind === 'create') {
    publicKey.user.id = fromBase64url(publicKey.user.id);
    publicKey.excludeCredentials = credentialList(publicKey.excludeCredentials);
  } else {
    publicKey.allowCredentials = credentialList(publicKey.allowCredentials);
  }

  function answer(credential) {
    var r = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) },
    };
    if (kind === 'create') {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      out.response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
    }
    return JSON.stringify(out);
  }

  var button = document.getElementById('passkey-go');
  var cancelled = document.getElementById('passkey-cancelled');
  var busy = false;

  function run() {
    if (busy) return;
    busy = true;
    button.disabled = true;
    var call = kind === 'create'
      ? navigator.credentials.create({ publicKey: publicKey })
      : navigator.credentials.get({ publicKey: publicKey, mediation: 'optional' });
    call.then(function (credential) {
      if (!credential) throw new Error('no credential');
      form.elements.credential.value = answer(credential);
      form.submit();
    }).catch(function () {
      busy = false;
      button.disabled = false;
      cancelled.hidden = false;
      cancelled.focus();
    });
  }

  button.hidden = false;
  button.addEventListener('click', run);
  // Started at once: the person asked for it with the button on the page before. Browsers that
  // want a fresh click refuse this call, and the button is there for that.
  run();
})();
