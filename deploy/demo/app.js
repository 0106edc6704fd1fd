// wsgate demo page: connect to a WebSocket, send text, log every event with the close code
// and reason. Element IDs (#url #connect #message #send #close #log #state) are used by
// tests/browser/test.mjs; keep them stable.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const urlInput = $('url');
  const connectButton = $('connect');
  const closeButton = $('close');
  const messageInput = $('message');
  const sendButton = $('send');
  const log = $('log');
  const stateOutput = $('state');

  const kStateNames = ['connecting', 'open', 'closing', 'closed'];
  const kMaxLogEntries = 500;  // old entries are dropped so a long session stays light
  let socket = null;

  // ws: for an http: page, wss: for https:, same host and port as the page.
  urlInput.value = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/echo';

  function addLog(kind, text) {
    const item = document.createElement('li');
    item.className = kind;
    item.dataset.kind = kind;
    const time = document.createElement('time');
    const now = new Date();
    time.dateTime = now.toISOString();
    time.textContent = now.toTimeString().slice(0, 8);
    const label = document.createElement('span');
    label.className = 'kind';
    label.textContent = kind;
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    item.append(time, ' ', label, ' ', body);
    log.append(item);
    while (log.children.length > kMaxLogEntries) log.firstElementChild.remove();
    item.scrollIntoView({ block: 'nearest' });
  }

  function showState() {
    const state = socket ? kStateNames[socket.readyState] : 'closed';
    stateOutput.textContent = state;
    stateOutput.dataset.state = state;
    const open = state === 'open';
    const idle = state === 'closed';
    connectButton.disabled = !idle;
    urlInput.disabled = !idle;
    closeButton.disabled = !(open || state === 'connecting');
    messageInput.disabled = !open;
    sendButton.disabled = !open;
  }

  function describeData(data) {
    if (typeof data === 'string') return data;
    if (data instanceof ArrayBuffer) return '(binary, ' + data.byteLength + ' bytes)';
    if (data instanceof Blob) return '(binary, ' + data.size + ' bytes)';
    return String(data);
  }

  function connect(url) {
    addLog('connecting', url);
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      addLog('error', err.message);
      return;
    }
    ws.binaryType = 'arraybuffer';
    socket = ws;
    ws.addEventListener('open', () => {
      addLog('open', 'connected' + (ws.protocol ? ' (subprotocol ' + ws.protocol + ')' : ''));
      showState();
      messageInput.focus();
    });
    ws.addEventListener('message', (event) => addLog('received', describeData(event.data)));
    // The browser reports no detail for errors; the close event that follows carries the code.
    ws.addEventListener('error', () => addLog('error', 'WebSocket error'));
    ws.addEventListener('close', (event) => {
      const reason = event.reason ? ', reason "' + event.reason + '"' : '';
      addLog('closed', 'code ' + event.code + reason + (event.wasClean ? '' : ' (not clean)'));
      if (socket === ws) socket = null;
      showState();
    });
    showState();
  }

  $('connect-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!socket) connect(urlInput.value.trim());
  });

  closeButton.addEventListener('click', () => {
    if (!socket) return;
    socket.close(1000, 'closed from the demo page');
    showState();
  });

  $('send-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const text = messageInput.value;
    socket.send(text);
    addLog('sent', text);
  });

  $('clear').addEventListener('click', () => log.replaceChildren());

  showState();
})();
