// imapflow (a real client, npm) against uimapd: one step of a cache that resyncs with
// QRESYNC. Run by tests/protocol/test_imapflow.py.
//
//   node imapflow-resync.js PORT USER PASSWORD snapshot          -> {uidValidity, highestModseq, messages}
//   node imapflow-resync.js PORT USER PASSWORD resync STATEFILE  -> the resync's result
//
// "snapshot" opens INBOX and prints the state a client would cache: UIDVALIDITY,
// HIGHESTMODSEQ and every message's UID and flags. "resync" opens INBOX with that state
// (mailboxOpen({uidValidity, changedSince}): SELECT ... (QRESYNC ...)), applies the
// VANISHED and flag events imapflow reports to the cached messages, and prints the updated
// cache, the events, whether imapflow says the open was a QRESYNC one, the commands it
// sent and the responses it got (from its own raw log), and a full FETCH for comparison.
'use strict';

const fs = require('fs');
const { ImapFlow } = require('imapflow');

const [port, user, pass, mode, stateFile] = process.argv.slice(2);
const wire = [];

// imapflow's logger interface: with logRaw it hands every line it sends and receives
const logger = {};
for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    logger[level] = entry => {
        if (entry && entry.data && typeof entry.data === 'string') {
            wire.push(`${entry.src === 's' ? 'S' : 'C'}: ${Buffer.from(entry.data, 'base64').toString('latin1').trim()}`);
        }
    };
}

function flagsOf(set) {
    return [...set].filter(f => f !== '\\Recent').sort();
}

async function main() {
    const client = new ImapFlow({
        host: '127.0.0.1',
        port: Number(port),
        secure: false,
        auth: { user, pass },
        qresync: true,
        logRaw: true,
        logger,
        emitLogs: false
    });
    const events = [];
    client.on('expunge', ev => events.push({ type: 'expunge', uid: ev.uid, vanished: ev.vanished, earlier: ev.earlier }));
    client.on('flags', ev => events.push({ type: 'flags', uid: ev.uid, flags: flagsOf(ev.flags), modseq: ev.modseq && ev.modseq.toString() }));
    await client.connect();
    const out = { enabled: [...client.enabled] };

    if (mode === 'snapshot') {
        const box = await client.mailboxOpen('INBOX');
        out.uidValidity = box.uidValidity.toString();
        out.highestModseq = box.highestModseq.toString();
        out.messages = {};
        for await (const msg of client.fetch('1:*', { uid: true, flags: true })) {
            out.messages[msg.uid] = flagsOf(msg.flags);
        }
    } else {
        const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
        const box = await client.mailboxOpen('INBOX', {
            uidValidity: BigInt(state.uidValidity),
            changedSince: BigInt(state.highestModseq)
        });
        out.qresync = !!box.qresync;
        out.highestModseq = box.highestModseq.toString();
        const cache = Object.assign({}, state.messages);
        for (const ev of events) {
            if (ev.type === 'expunge' && ev.vanished) {
                delete cache[ev.uid];
            } else if (ev.type === 'flags' && ev.uid) {
                cache[ev.uid] = ev.flags;
            }
        }
        out.cache = cache;
        out.truth = {};
        for await (const msg of client.fetch('1:*', { uid: true, flags: true })) {
            out.truth[msg.uid] = flagsOf(msg.flags);
        }
    }
    out.events = events;
    await client.logout();
    out.wire = wire;
    process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(err => {
    process.stdout.write(JSON.stringify({ error: String(err && err.stack || err), wire }) + '\n');
    process.exit(1);
});
