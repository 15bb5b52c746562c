// imapflow (a real client, npm) with COMPRESS=DEFLATE, which it turns on by itself when
// offered. Run by tests/protocol/test_imapflow.py.
//
//   node imapflow-compress.js PORT USER PASSWORD  -> {compressed, wire, appended, messages}
//
// Logs in, reports whether imapflow sent COMPRESS and has its deflate stream active,
// APPENDs a message through the compressed stream, then FETCHes every message's source
// and prints its length and SHA-256 (the test compares them with what it appended).
'use strict';

const crypto = require('crypto');
const { ImapFlow } = require('imapflow');

const [port, user, pass] = process.argv.slice(2);
const wire = [];
let compressedWrites = 0;

const logger = {};
for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    logger[level] = entry => {
        if (entry && entry.compress && entry.src === 'c') {
            compressedWrites++;
        }
        if (entry && entry.data && typeof entry.data === 'string' && wire.length < 200) {
            const text = Buffer.from(entry.data, 'base64').toString('latin1');
            wire.push(`${entry.src === 's' ? 'S' : 'C'}: ${text.slice(0, 200).trim()}`);
        }
    };
}

async function main() {
    const client = new ImapFlow({
        host: '127.0.0.1',
        port: Number(port),
        secure: false,
        auth: { user, pass },
        logRaw: true,
        logger,
        emitLogs: false
    });
    await client.connect();
    const out = { compressed: !!client._deflate };
    const msg = Buffer.from('Subject: from imapflow\r\n\r\n' + 'imapflow line\r\n'.repeat(5000));
    const res = await client.append('INBOX', msg, ['\\Seen']);
    out.appended = { uid: res.uid, size: msg.length, sha256: crypto.createHash('sha256').update(msg).digest('hex') };
    await client.mailboxOpen('INBOX');
    out.messages = {};
    for await (const m of client.fetch('1:*', { uid: true, source: true })) {
        out.messages[m.uid] = { size: m.source.length, sha256: crypto.createHash('sha256').update(m.source).digest('hex') };
    }
    out.compressedWrites = compressedWrites;
    await client.logout();
    out.wire = wire;
    process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(err => {
    process.stdout.write(JSON.stringify({ error: String(err && err.stack || err), wire }) + '\n');
    process.exit(1);
});
