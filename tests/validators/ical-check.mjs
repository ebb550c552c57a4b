// Reads an iCalendar document on stdin with ical.js (Thunderbird's parser) and walks every VEVENT and VALARM as a
// calendar program would. Prints what it read as JSON on stdout; on a document ical.js rejects, prints the error on
// stderr and exits 1.
import ICAL from "ical.js";

function text(stream) {
  return new Promise((resolve, reject) => {
    let data = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => { data += chunk; });
    stream.on("end", () => resolve(data));
    stream.on("error", reject);
  });
}

function value(v) {
  return v === null || v === undefined ? null : v.toString();
}

function alarm(valarm) {
  return {
    action: value(valarm.getFirstPropertyValue("action")),
    trigger: value(valarm.getFirstPropertyValue("trigger")),
    trigger_type: valarm.getFirstProperty("trigger")?.type ?? null,
  };
}

function event(vevent) {
  const ev = new ICAL.Event(vevent);
  return {
    uid: ev.uid,
    summary: ev.summary,
    sequence: ev.sequence,
    start: value(ev.startDate),
    end: value(ev.endDate),
    dtstamp: value(vevent.getFirstPropertyValue("dtstamp")),
    last_modified: value(vevent.getFirstPropertyValue("last-modified")),
    alarms: vevent.getAllSubcomponents("valarm").map(alarm),
  };
}

try {
  const calendar = new ICAL.Component(ICAL.parse(await text(process.stdin)));
  if (calendar.name !== "vcalendar") throw new Error(`not a calendar but a ${calendar.name}`);
  const out = {
    refresh_interval: value(calendar.getFirstPropertyValue("refresh-interval")),
    published_ttl: value(calendar.getFirstPropertyValue("x-published-ttl")),
    events: calendar.getAllSubcomponents("vevent").map(event),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (err) {
  process.stderr.write(`ical.js rejected the calendar: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
}
