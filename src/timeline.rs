//! `covm --timeline out.html`: the recorded generator and coroutine events
//! (vm/src/trace.rs) drawn as one self-contained HTML page. Every
//! generator, coroutine and task is a lane; every event a mark in its own
//! column (left to right in the order things happened, with the time above);
//! each hand-off of control between lanes an arrow. Hovering or clicking a
//! mark shows its details. The page needs nothing from the network.

use std::collections::HashMap;
use std::fmt::Write as _;

use covm_vm::trace::{Event, Kind};

/// Where the events came from, for the page's title and source lines.
pub struct Page<'a> {
    pub title: &'a str,
    /// The program's source, to quote the line of a mark (`None` in the
    /// REPL, where each input has its own lines).
    pub source: Option<&'a str>,
    pub virtual_time: bool,
    /// Events the recorder had no room for.
    pub dropped: usize,
}

const MODULE: &str = "<module>";
const LANE_H: f64 = 46.0;
const COL_W: f64 = 24.0;
const TOP: f64 = 56.0;
const LEFT: f64 = 24.0;
const LABEL_W: f64 = 230.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum LaneKind {
    Module,
    Task,
    Generator,
    Coroutine,
    AsyncGenerator,
}

impl LaneKind {
    fn of(label: &str) -> LaneKind {
        if label == MODULE {
            LaneKind::Module
        } else if label.starts_with("generator#") {
            LaneKind::Generator
        } else if label.starts_with("coroutine#") {
            LaneKind::Coroutine
        } else if label.starts_with("async_generator#") {
            LaneKind::AsyncGenerator
        } else {
            LaneKind::Task
        }
    }
    fn class(self) -> &'static str {
        match self {
            LaneKind::Module => "module",
            LaneKind::Task => "task",
            LaneKind::Generator => "generator",
            LaneKind::Coroutine => "coroutine",
            LaneKind::AsyncGenerator => "asyncgen",
        }
    }
}

struct Lane {
    label: String,
    kind: LaneKind,
    first: usize,
    last: usize,
    /// Columns where the lane starts and stops running.
    active: Vec<(usize, usize)>,
    running_since: Option<usize>,
    marks: usize,
}

struct Arrow {
    col: usize,
    from: usize,
    to: usize,
    kind: Kind,
}

/// Lanes, marks and arrows worked out from the events: who had control
/// is tracked with a stack, as the VM's frames would be.
struct Layout {
    lanes: Vec<Lane>,
    /// Per event: its lane.
    lane_of: Vec<usize>,
    arrows: Vec<Arrow>,
}

fn layout(events: &[Event]) -> Layout {
    let mut lanes: Vec<Lane> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let lane = |label: &str,
                col: usize,
                lanes: &mut Vec<Lane>,
                index: &mut HashMap<String, usize>|
     -> usize {
        if let Some(&i) = index.get(label) {
            return i;
        }
        lanes.push(Lane {
            label: label.to_string(),
            kind: LaneKind::of(label),
            first: col,
            last: col,
            active: Vec::new(),
            running_since: None,
            marks: 0,
        });
        index.insert(label.to_string(), lanes.len() - 1);
        lanes.len() - 1
    };
    let module = lane(MODULE, 0, &mut lanes, &mut index);
    let mut stack: Vec<usize> = Vec::new();
    let mut lane_of = Vec::with_capacity(events.len());
    let mut arrows = Vec::new();
    for (col, ev) in events.iter().enumerate() {
        let l = lane(&ev.label, col, &mut lanes, &mut index);
        let current = stack.last().copied().unwrap_or(module);
        match ev.kind {
            Kind::Step => stack = vec![l],
            Kind::Create => arrows.push(Arrow {
                col,
                from: current,
                to: l,
                kind: ev.kind,
            }),
            Kind::Send | Kind::Throw => {
                if current != l {
                    arrows.push(Arrow {
                        col,
                        from: current,
                        to: l,
                        kind: ev.kind,
                    });
                }
                stack.push(l);
                lanes[l].running_since.get_or_insert(col);
            }
            Kind::Yield | Kind::Return | Kind::Raise => {
                if let Some(pos) = stack.iter().rposition(|&x| x == l) {
                    stack.truncate(pos);
                }
                let to = stack.last().copied().unwrap_or(module);
                if to != l {
                    arrows.push(Arrow {
                        col,
                        from: l,
                        to,
                        kind: ev.kind,
                    });
                }
                // A task's step ends when its coroutine gives control back.
                if stack.len() == 1 && lanes[to].kind == LaneKind::Task {
                    stack.clear();
                }
                if let Some(start) = lanes[l].running_since.take() {
                    lanes[l].active.push((start, col));
                }
            }
            Kind::Close | Kind::Await => {}
        }
        lanes[l].last = col;
        lanes[l].marks += 1;
        lane_of.push(l);
    }
    // A task's lane goes right above the coroutine it steps.
    let mut task_of: HashMap<usize, usize> = HashMap::new();
    for w in events.windows(2) {
        if w[0].kind == Kind::Step && w[1].kind == Kind::Send {
            let (t, c) = (index[&w[0].label], index[&w[1].label]);
            if lanes[c].kind != LaneKind::Task {
                task_of.entry(c).or_insert(t);
            }
        }
    }
    let placed: std::collections::HashSet<usize> = task_of.values().copied().collect();
    let mut order: Vec<usize> = Vec::with_capacity(lanes.len());
    for i in 0..lanes.len() {
        if placed.contains(&i) && !order.contains(&i) {
            continue;
        }
        if let Some(&t) = task_of.get(&i)
            && !order.contains(&t)
        {
            order.push(t);
        }
        if !order.contains(&i) {
            order.push(i);
        }
    }
    let mut new_index = vec![0; lanes.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut slots: Vec<Option<Lane>> = lanes.into_iter().map(Some).collect();
    let mut lanes: Vec<Lane> = order.iter().filter_map(|&o| slots[o].take()).collect();
    let module = new_index[module];
    for l in &mut lane_of {
        *l = new_index[*l];
    }
    for a in &mut arrows {
        a.from = new_index[a.from];
        a.to = new_index[a.to];
    }
    // The main program is there from the first event to the last.
    lanes[module].first = 0;
    lanes[module].last = events.len().saturating_sub(1);
    for l in &mut lanes {
        if let Some(start) = l.running_since.take() {
            l.active.push((start, l.last));
        }
    }
    Layout {
        lanes,
        lane_of,
        arrows,
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `countdown` and `generator #3` from `generator#3 countdown`.
fn lane_names(label: &str) -> (String, String) {
    match label.split_once(' ') {
        Some((kind_id, name)) if kind_id.contains('#') => (
            name.to_string(),
            kind_id.replace('#', " #").replace('_', " "),
        ),
        _ if label == MODULE => ("<module>".to_string(), "the main program".to_string()),
        _ => (label.to_string(), "asyncio task".to_string()),
    }
}

fn x_of(col: usize) -> f64 {
    LEFT + COL_W * col as f64 + COL_W / 2.0
}

fn y_of(lane: usize) -> f64 {
    TOP + LANE_H * lane as f64 + LANE_H / 2.0
}

/// Most events drawn: a browser stays responsive with this many marks.
const MAX_DRAWN: usize = 20_000;

/// The whole page.
pub fn render(events: &[Event], page: &Page) -> String {
    let cut = events.len().saturating_sub(MAX_DRAWN);
    let events = &events[..events.len().min(MAX_DRAWN)];
    let lay = layout(events);
    let cols = events.len().max(1);
    // Room on the right for the last value's label.
    let width = LEFT * 2.0 + COL_W * cols as f64 + 110.0;
    let height = TOP + LANE_H * lay.lanes.len() as f64 + 16.0;
    let lines: Vec<&str> = page.source.map(|s| s.lines().collect()).unwrap_or_default();

    let mut labels = String::new();
    let mut svg = String::new();
    // Lane backgrounds and names.
    for (i, l) in lay.lanes.iter().enumerate() {
        let y = TOP + LANE_H * i as f64;
        let (full, kind) = lane_names(&l.label);
        // The column is narrow: long names are cut, the tooltip has them.
        let name: String = if full.chars().count() > 24 {
            full.chars().take(23).chain(['…']).collect()
        } else {
            full.clone()
        };
        let _ = write!(
            labels,
            "<g class=\"lane-name {cls}\" data-lane=\"{i}\"><rect x=\"0\" y=\"{y}\" width=\"{LABEL_W}\" height=\"{LANE_H}\" class=\"band{odd}\"/>\
             <title>{full}</title><text x=\"12\" y=\"{ty}\" class=\"name\">{name}</text><text x=\"12\" y=\"{ky}\" class=\"kind\">{kind}</text></g>",
            cls = l.kind.class(),
            odd = if i % 2 == 1 { " odd" } else { "" },
            ty = y + 20.0,
            ky = y + 36.0,
            name = esc(&name),
            full = esc(&full),
            kind = esc(&kind),
        );
        let _ = write!(
            svg,
            "<rect x=\"0\" y=\"{y}\" width=\"{width}\" height=\"{LANE_H}\" class=\"band{odd}\"/>",
            odd = if i % 2 == 1 { " odd" } else { "" },
        );
    }
    // Time axis: a tick where the clock moved, when there is room.
    let mut axis = String::new();
    let mut last_label_x = f64::NEG_INFINITY;
    let mut last_time = f64::NAN;
    for (col, ev) in events.iter().enumerate() {
        let moved = col == 0 || (ev.time - last_time).abs() >= 0.0005;
        last_time = ev.time;
        if !moved {
            continue;
        }
        let x = x_of(col) - COL_W / 2.0;
        let _ = write!(
            axis,
            "<line x1=\"{x}\" y1=\"{y0}\" x2=\"{x}\" y2=\"{height}\" class=\"tick\"/>",
            y0 = TOP - 14.0,
        );
        if x - last_label_x >= 64.0 {
            last_label_x = x;
            let _ = write!(
                axis,
                "<text x=\"{tx}\" y=\"{ty}\" class=\"time\">{t:.3}s</text>",
                tx = x + 3.0,
                ty = TOP - 18.0,
                t = ev.time,
            );
        }
    }
    // Lifelines and running bars.
    let mut lifelines = String::new();
    for (i, l) in lay.lanes.iter().enumerate() {
        let y = y_of(i);
        let _ = write!(
            lifelines,
            "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" class=\"life {cls}\"/>",
            x1 = x_of(l.first),
            x2 = x_of(l.last),
            cls = l.kind.class(),
        );
        for &(a, b) in &l.active {
            let _ = write!(
                lifelines,
                "<rect x=\"{x}\" y=\"{ry}\" width=\"{w}\" height=\"10\" rx=\"5\" class=\"running {cls}\"/>",
                x = x_of(a) - 5.0,
                ry = y - 5.0,
                w = x_of(b) - x_of(a) + 10.0,
                cls = l.kind.class(),
            );
        }
    }
    // Arrows: control passing from one lane to another.
    let mut arrows = String::new();
    for a in &lay.arrows {
        let x = x_of(a.col);
        let (y1, y2) = (y_of(a.from), y_of(a.to));
        let dir = if y2 > y1 { 1.0 } else { -1.0 };
        let _ = write!(
            arrows,
            "<line x1=\"{x}\" y1=\"{a1}\" x2=\"{x}\" y2=\"{a2}\" class=\"arrow arrow-{k}\" data-kind=\"{k}\" data-from=\"{f}\" data-to=\"{t}\" marker-end=\"url(#head-{k})\"/>",
            a1 = y1 + dir * 7.0,
            a2 = y2 - dir * 9.0,
            k = a.kind.name(),
            f = esc(&lay.lanes[a.from].label),
            t = esc(&lay.lanes[a.to].label),
        );
    }
    // Marks, and the values that went in or came out written beside them.
    let mut marks = String::new();
    let mut values = String::new();
    for (col, ev) in events.iter().enumerate() {
        let lane = lay.lane_of[col];
        let (x, y) = (x_of(col), y_of(lane));
        let src = ev
            .line
            .and_then(|n| lines.get(n.wrapping_sub(1)))
            .map(|s| s.trim())
            .unwrap_or("");
        let line = ev.line.map(|n| n.to_string()).unwrap_or_default();
        let shown = matches!(
            ev.kind,
            Kind::Send | Kind::Yield | Kind::Return | Kind::Raise
        ) && !ev.value.is_empty()
            && ev.value != "None"
            && !ev.value.starts_with('<');
        if shown {
            let v: String = if ev.value.chars().count() > 14 {
                ev.value.chars().take(13).chain(['…']).collect()
            } else {
                ev.value.clone()
            };
            let _ = write!(
                values,
                "<text x=\"{tx}\" y=\"{ty}\" transform=\"rotate(-35 {tx} {ty})\" class=\"value value-{k}\">{v}</text>",
                tx = x + 4.0,
                ty = y - 9.0,
                k = ev.kind.name(),
                v = esc(&v),
            );
        }
        let title = ev.text();
        let shape = match ev.kind {
            Kind::Await => format!(
                "<path d=\"M{x} {a}L{b} {y}L{x} {c}L{d} {y}Z\"",
                a = y - 7.0,
                b = x + 7.0,
                c = y + 7.0,
                d = x - 7.0
            ),
            Kind::Step => format!(
                "<rect x=\"{rx}\" y=\"{ry}\" width=\"12\" height=\"12\" rx=\"2\"",
                rx = x - 6.0,
                ry = y - 6.0
            ),
            _ => format!("<circle cx=\"{x}\" cy=\"{y}\" r=\"6\""),
        };
        let _ = write!(
            marks,
            "{shape} class=\"mark mark-{k}\" tabindex=\"0\" data-kind=\"{k}\" data-lane=\"{lane}\" data-label=\"{label}\" data-value=\"{value}\" data-line=\"{line}\" data-src=\"{src}\" data-time=\"{time:.3}\" data-note=\"{note}\"><title>{title}</title></{tag}>",
            k = ev.kind.name(),
            label = esc(&ev.label),
            value = esc(&ev.value),
            src = esc(src),
            time = ev.time,
            note = esc(&ev.note),
            title = esc(&title),
            tag = match ev.kind {
                Kind::Await => "path",
                Kind::Step => "rect",
                _ => "circle",
            },
        );
    }

    let clock = if page.virtual_time {
        "virtual time (--virtual-time)"
    } else {
        "elapsed time"
    };
    let dropped = if page.dropped + cut > 0 {
        format!(
            " <strong>{} later events are not drawn.</strong>",
            page.dropped + cut
        )
    } else {
        String::new()
    };
    let mut defs = String::new();
    for k in ["create", "send", "throw", "yield", "return", "raise"] {
        let _ = write!(
            defs,
            "<marker id=\"head-{k}\" viewBox=\"0 0 10 10\" refX=\"5\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" class=\"head-{k}\"/></marker>"
        );
    }
    let legend = LEGEND;
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>covm timeline: {title}</title>\n<style>{CSS}</style>\n</head>\n\
         <body data-timeline-errors=\"\">\n<header><h1>covm timeline <span>{title}</span></h1>\n\
         <p class=\"summary\">{nlanes} lanes, {nev} events, {narrows} hand-offs; columns in the order things happened, {clock} above.{dropped}</p>\n\
         {legend}</header>\n<main>\n\
         <svg class=\"labels\" width=\"{LABEL_W}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">{labels}</svg>\n\
         <div class=\"scroll\"><svg id=\"timeline\" width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <defs>{defs}</defs><g class=\"bands\">{svg}</g><g class=\"axis\">{axis}</g><g class=\"lifelines\">{lifelines}</g>\
         <g class=\"arrows\">{arrows}</g><g class=\"values\">{values}</g><g class=\"marks\">{marks}</g></svg></div>\n</main>\n\
         <footer id=\"info\"><span class=\"hint\">Hover over or click a mark to see what went in or out, and the source line.</span></footer>\n\
         <script>{JS}</script>\n</body>\n</html>\n",
        title = esc(page.title),
        nlanes = lay.lanes.len(),
        nev = events.len(),
        narrows = lay.arrows.len(),
    )
}

const LEGEND: &str = "<ul class=\"legend\">\
<li><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" class=\"mark mark-create\"/></svg>create</li>\
<li><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" class=\"mark mark-send\"/></svg>send / next</li>\
<li><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" class=\"mark mark-yield\"/></svg>yield</li>\
<li><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" class=\"mark mark-return\"/></svg>return</li>\
<li><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" class=\"mark mark-throw\"/></svg>throw</li>\
<li><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" class=\"mark mark-raise\"/></svg>raise</li>\
<li><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" class=\"mark mark-close\"/></svg>close</li>\
<li><svg width=\"14\" height=\"14\"><path d=\"M7 0L14 7L7 14L0 7Z\" class=\"mark mark-await\"/></svg>await</li>\
<li><svg width=\"14\" height=\"14\"><rect x=\"1\" y=\"1\" width=\"12\" height=\"12\" rx=\"2\" class=\"mark mark-step\"/></svg>task step</li>\
<li><svg width=\"26\" height=\"14\"><rect x=\"1\" y=\"2\" width=\"24\" height=\"10\" rx=\"5\" class=\"running coroutine\"/></svg>running</li>\
</ul>";

const CSS: &str = r#"
:root { --bg:#fbfaf7; --ink:#1f2328; --muted:#6b7280; --band:#f2efe8; --grid:#e3ded3;
  --send:#2563eb; --yield:#16a34a; --return:#065f46; --throw:#db2777; --raise:#dc2626;
  --close:#6b7280; --await:#7c3aed; --step:#ea580c; --create:#ffffff; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header { padding: 14px 20px 6px; }
h1 { margin:0 0 4px; font-size: 20px; font-weight: 650; }
h1 span { font-weight: 400; color: var(--muted); font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 17px; }
.summary { margin: 0 0 8px; color: var(--muted); }
.legend { list-style:none; margin:0; padding:0; display:flex; flex-wrap:wrap; gap: 6px 16px; }
.legend li { display:flex; align-items:center; gap:6px; }
main { display:flex; border-top:1px solid var(--grid); border-bottom:1px solid var(--grid); margin-top: 8px; }
svg.labels { flex:none; background:var(--bg); border-right:1px solid var(--grid); }
.scroll { overflow-x:auto; flex:1; }
.band { fill: var(--bg); } .band.odd { fill: var(--band); }
.lane-name .name { font-weight:600; font-size:14px; fill: var(--ink); font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.lane-name .kind { font-size:11px; fill: var(--muted); }
.lane-name.task .name { fill:#9a3412; } .lane-name.coroutine .name { fill:#5b21b6; }
.lane-name.generator .name { fill:#0f766e; } .lane-name.asyncgen .name { fill:#1d4ed8; }
.tick { stroke: var(--grid); stroke-width:1; stroke-dasharray: 2 3; }
.time { font-size:11px; fill: var(--muted); font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.life { stroke:#b8b2a5; stroke-width:2; }
.running { opacity:.35; } .running.module { fill:#6b7280; } .running.task { fill:#ea580c; }
.running.generator { fill:#14b8a6; } .running.coroutine { fill:#8b5cf6; } .running.asyncgen { fill:#3b82f6; }
.arrow { stroke-width:1.6; } .arrow-send { stroke: var(--send); } .arrow-throw { stroke: var(--throw); }
.arrow-yield { stroke: var(--yield); } .arrow-return { stroke: var(--return); } .arrow-raise { stroke: var(--raise); }
.arrow-create { stroke:#9ca3af; stroke-dasharray: 3 3; }
.head-send { fill: var(--send); } .head-throw { fill: var(--throw); } .head-yield { fill: var(--yield); }
.head-return { fill: var(--return); } .head-raise { fill: var(--raise); } .head-create { fill:#9ca3af; }
.value { font-size:10px; fill:#374151; font-family: ui-monospace, "DejaVu Sans Mono", monospace; paint-order: stroke; stroke: var(--bg); stroke-width: 3px; }
.value-return { fill: var(--return); font-weight: 700; } .value-raise { fill: var(--raise); font-weight: 700; } .value-send { fill: var(--send); }
.mark { stroke:#1f2328; stroke-width:1; cursor:pointer; }
.mark-create { fill: var(--create); } .mark-send { fill: var(--send); } .mark-yield { fill: var(--yield); }
.mark-return { fill: var(--return); } .mark-throw { fill: var(--throw); } .mark-raise { fill: var(--raise); }
.mark-close { fill: var(--close); } .mark-await { fill: var(--await); } .mark-step { fill: var(--step); }
.mark:hover, .mark:focus, .mark.pinned { stroke-width:3; outline:none; }
footer { position: sticky; bottom: 0; min-height: 64px; padding: 10px 20px; background:#fff;
  border-top: 1px solid var(--grid); font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
footer .hint { color: var(--muted); font-family: system-ui, sans-serif; }
footer b { font-family: system-ui, sans-serif; }
footer .k { display:inline-block; min-width: 64px; color: var(--muted); font-family: system-ui, sans-serif; }
"#;

const JS: &str = r#"
(function () {
  var errors = [];
  function record(msg) {
    errors.push(String(msg));
    document.body.setAttribute('data-timeline-errors', errors.join(' | '));
  }
  window.addEventListener('error', function (e) { record(e.message); });
  try {
    var info = document.getElementById('info');
    var pinned = null;
    function text(tag, cls, s) {
      var el = document.createElement(tag);
      if (cls) { el.className = cls; }
      el.textContent = s;
      return el;
    }
    function row(k, v) {
      var d = document.createElement('div');
      d.appendChild(text('span', 'k', k));
      d.appendChild(text('span', '', v));
      return d;
    }
    function show(m) {
      var d = m.dataset;
      info.textContent = '';
      var head = document.createElement('div');
      head.appendChild(text('b', '', d.kind + ' '));
      head.appendChild(text('span', '', d.label + '  at ' + d.time + 's'));
      info.appendChild(head);
      if (d.value) { info.appendChild(row(d.kind === 'send' || d.kind === 'throw' ? 'sent' : (d.kind === 'await' ? 'awaits' : 'value'), d.value)); }
      if (d.note && d.note !== 'line ' + d.line) { info.appendChild(row('how', d.note)); }
      if (d.line) { info.appendChild(row('line ' + d.line, d.src || '')); }
    }
    var marks = document.querySelectorAll('.mark[data-kind]');
    for (var i = 0; i < marks.length; i++) {
      (function (m) {
        m.addEventListener('mouseenter', function () { if (!pinned) { show(m); } });
        m.addEventListener('focus', function () { show(m); });
        m.addEventListener('click', function () {
          if (pinned) { pinned.classList.remove('pinned'); }
          pinned = (pinned === m) ? null : m;
          if (pinned) { m.classList.add('pinned'); }
          show(m);
        });
      })(marks[i]);
    }
    // `page.html#pin=N` opens with the N-th mark pinned (for screenshots).
    var pin = /pin=(\d+)/.exec(location.hash);
    if (pin && marks[+pin[1]]) { marks[+pin[1]].dispatchEvent(new MouseEvent('click')); }
    document.body.setAttribute('data-timeline-ready', String(marks.length));
  } catch (e) {
    record(e && e.message ? e.message : e);
  }
})();
"#;
