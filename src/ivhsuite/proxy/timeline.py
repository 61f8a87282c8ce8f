"""The session timeline as inline SVG: one row per session, from creation to its end.

A row shows the phases the proxy saw: preparing (created, not yet seen ready), ready
(not yet started), started; a tick per text (HTTP or channel); the command channel's open
and close marks and each audio sequence as a band under the row (violet when paced as
documented, red when not); and a mark at the end coloured by why it ended (closed by the
application, preempted, reported closed, leaked). Each audio sequence also gets a small
pacing chart (:func:`pacing_svg`). No script, no font, no external resource: the report
opens offline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from ivhsuite.channel_spec import AudioRules
from ivhsuite.proxy.rules import AudioSequence, Track
from ivhsuite.redact import redact

MAX_ROWS = 200
WIDTH, LABEL, RIGHT, TOP, ROW, BOTTOM = 960, 220, 24, 36, 18, 34
PHASE_COLORS = {"preparing": "#f59e0b", "ready": "#93c5fd", "started": "#2563eb"}
END_COLORS = {"closed": "#16a34a", "preempted": "#ea580c", "leaked": "#dc2626", "other": "#6b7280"}
CHANNEL_COLORS = {"channel open": "#0d9488", "audio paced": "#7c3aed", "audio off pace": "#dc2626"}
PACING_W, PACING_H, PACING_PAD = 240, 120, 28


def end_kind(track: Track) -> str:
    """Which colour the end mark takes."""
    reason = track.end_reason or ""
    if track.leaked:
        return "leaked"
    if reason == "closed":
        return "closed"
    if "preempted" in reason:
        return "preempted"
    return "other"


def _phases(track: Track, end: float) -> list[tuple[str, float, float]]:
    ready = min(track.ready, end) if track.ready is not None else end
    started = min(track.started, end) if track.started is not None else end
    phases = [("preparing", track.created, ready)]
    if track.ready is not None:
        phases.append(("ready", ready, max(ready, started)))
    if track.started is not None:
        phases.append(("started", started, end))
    return [(name, a, b) for name, a, b in phases if b > a or name == "preparing"]


def _legend() -> str:
    items = [*PHASE_COLORS.items(), *CHANNEL_COLORS.items(), *((f"end: {k}", v) for k, v in END_COLORS.items())]
    parts = []
    x = LABEL
    for name, color in items:
        parts.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14}" y="17" class="legend">{escape(name)}</text>')
        x += 28 + 7 * len(name)
    return "".join(parts)


def _channel(track: Track, y: float, x: Callable[[float], float]) -> list[str]:
    """The channel's open/close marks and a band per audio sequence, under the row's bar."""
    parts = []
    for at, what in track.channel_events:
        if what == "open" or what.startswith("close"):
            color = CHANNEL_COLORS["channel open"] if what == "open" else "#111827"
            parts.append(f'<rect x="{x(at) - 2:.1f}" y="{y}" width="4" height="4" fill="{color}">'
                         f"<title>{escape(f'channel {what} at {at:.2f} s')}</title></rect>")  # fmt: skip
    for sequence in track.audio:
        if not sequence.sent:
            continue
        start, stop = sequence.sent[0], sequence.ended or sequence.sent[-1]
        color = CHANNEL_COLORS["audio off pace" if sequence.paced is False else "audio paced"]
        ratio = "not judged" if sequence.ratio is None else f"ratio {sequence.ratio:.2f}"
        tip = f"audio {sequence.req_id}: {len(sequence.sent)} packets, {sum(sequence.seconds):.2f} s, {ratio}"
        parts.append(f'<rect x="{x(start):.1f}" y="{y + ROW - 4}" width="{max(1.0, x(stop) - x(start)):.1f}" height="3"'
                     f' fill="{color}"><title>{escape(redact(tip))}</title></rect>')  # fmt: skip
    return parts


def pacing_svg(sequence: AudioSequence, rules: AudioRules) -> str:
    """One audio sequence: audio sent so far against time since its first packet, over the documented band.

    The band runs from the head start along the two documented ratios (the slopes of audio
    time per second sent); a paced sequence stays inside it.
    """
    if not sequence.sent:
        return ""
    t0 = sequence.sent[0]
    points, total = [], 0.0
    for at, seconds in zip(sequence.sent, sequence.seconds, strict=True):
        total += seconds
        points.append((at - t0, total))
    head = min(rules.head_start_packets, len(points)) - 1
    head_at, head_audio = points[head]
    span_t = max(points[-1][0], (total - head_audio) * rules.max_ratio + head_at, 1e-3)
    span_a = max(total, 1e-3)

    def px(t: float) -> float:
        return PACING_PAD + t / span_t * (PACING_W - PACING_PAD - 8)

    def py(a: float) -> float:
        return PACING_H - PACING_PAD + 8 - a / span_a * (PACING_H - PACING_PAD)

    def band(ratio: float) -> str:
        end_t = head_at + (total - head_audio) * ratio
        return f"{px(head_at):.1f},{py(head_audio):.1f} {px(end_t):.1f},{py(total):.1f}"

    line = " ".join(f"{px(t):.1f},{py(a):.1f}" for t, a in points)
    color = CHANNEL_COLORS["audio off pace" if sequence.paced is False else "audio paced"]
    ratio = "too short to judge" if sequence.ratio is None else f"ratio {sequence.ratio:.2f}"
    title = redact(f"audio {sequence.req_id}: {len(points)} packets, {total:.2f} s of audio, {ratio}")
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {PACING_W} {PACING_H}"'
        f' xmlns="http://www.w3.org/2000/svg" width="{PACING_W}" height="{PACING_H}"><title>{escape(title)}</title>'
        f'<polyline points="{band(rules.min_ratio)}" fill="none" stroke="#9ca3af" stroke-dasharray="3,2"/>'
        f'<polyline points="{band(rules.max_ratio)}" fill="none" stroke="#9ca3af" stroke-dasharray="3,2"/>'
        f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="1.5"/>'
        f'<text x="{PACING_PAD}" y="12" class="tick">{escape(ratio)} · {span_t:.2f} s</text>'
        f'<text x="2" y="{PACING_H / 2}" class="tick">audio</text></svg>'
    )


def timeline_svg(tracks: Sequence[Track], until: float) -> str:
    """Rows for the first :data:`MAX_ROWS` sessions over ``0 .. until`` seconds."""
    shown = list(tracks)[:MAX_ROWS]
    height = TOP + max(1, len(shown)) * ROW + BOTTOM
    span = max(until, max((t.ended or until for t in shown), default=until), 1e-3)

    def x(at: float) -> float:
        return LABEL + max(0.0, at) / span * (WIDTH - LABEL - RIGHT)

    parts = [_legend()]
    for row, track in enumerate(shown):
        y = TOP + row * ROW
        end = track.ended if track.ended is not None else until
        label = redact(f"{track.user_id[:18]} · {track.session_id[:10]}")
        parts.append(f'<text x="{LABEL - 6}" y="{y + 12}" text-anchor="end" class="tick">{escape(label)}</text>')
        for name, start, stop in _phases(track, end):
            width = max(1.0, x(stop) - x(start))
            tip = f"{name}: {start:.2f}–{stop:.2f} s"
            parts.append(
                f'<rect x="{x(start):.1f}" y="{y + 3}" width="{width:.1f}" height="{ROW - 6}" '
                f'fill="{PHASE_COLORS[name]}"><title>{escape(tip)}</title></rect>'
            )
        for at in track.texts:
            parts.append(
                f'<line x1="{x(at):.1f}" y1="{y + 1}" x2="{x(at):.1f}" y2="{y + ROW - 1}" stroke="#111827" stroke-width="1"/>'
            )
        parts += _channel(track, y, x)
        kind = end_kind(track)
        tip = redact(f"{track.session_id}: {track.end_reason or 'live'} at {end:.2f} s")
        parts.append(
            f'<circle cx="{x(end):.1f}" cy="{y + ROW / 2}" r="4" fill="{END_COLORS[kind]}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    axis_y = TOP + max(1, len(shown)) * ROW + 4
    parts.append(f'<line x1="{LABEL}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" class="axis"/>')
    for step in range(5):
        at = span * step / 4
        parts.append(f'<text x="{x(at):.1f}" y="{axis_y + 14}" text-anchor="middle" class="tick">{at:.1f} s</text>')
    if not shown:
        parts.append(f'<text x="{WIDTH / 2}" y="{TOP + 12}" text-anchor="middle" class="tick">no session</text>')
    title = f"Session timeline ({len(shown)} of {len(tracks)} sessions)"
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}"><title>{escape(title)}</title>'
        + "".join(parts)
        + "</svg>"
    )
