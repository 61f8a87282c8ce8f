"""The application's half of the contract: the rules a client of the API keeps, one name and one wording each.

:mod:`~ivhsuite.contract.promises` holds what the endpoint owes; this holds what the
application owes, from the same docs (the OpenAPI and AsyncAPI documents' pages). The
proxy names a broken one by its key (the keys are an interface: the README lists them);
the per-session state machine that sees them is the proxy's (:mod:`ivhsuite.proxy.rules`).
The numbers (intervals, packet size, pacing ratio) live in the documents, not here.

A rule the docs only *suggest* is :data:`ADVICE`: reported, never a reason to fail a run
unless the user asks for it (``--strict-advice``), as the gate keeps its observations apart.

>>> "audio-pacing" in CLIENT_RULES, "stat-poll-rate" in ADVICE
(True, True)
"""

from __future__ import annotations

CLIENT_RULES: dict[str, str] = {
    "unknown-path": "every call and channel goes to a path the OpenAPI or the AsyncAPI document defines"
    " (not, say, the previous API version's channel path)",
    "request-schema": "every call is a POST to a documented operation whose body matches the spec, and every"
    " channel message is a documented command (required fields, types, documented bounds)",
    "signature-malformed": "every call and channel handshake carries appkey, timestamp and signature; the"
    " signature is the URL-encoded base64 of an HMAC-SHA256 (32 bytes)",
    "timestamp-window": "the signed timestamp is within 5 minutes of the current time",
    "secret-in-query": "no secret (access token, TrtcUserSig, ...) travels in the query string, where"
    " servers and proxies log it; only the signature does",
    "reqid-reused": "a new ReqId for every request and command; only one audio (or stream text) sequence's"
    " own packets share one",
    "userid-reuse": "neither create operation reuses the UserId of a session still live: the new stream"
    " would close it (self-preemption, 110022)",
    "quota-exceeded": "the application never asks for more live sessions than the quota it was told (--quota)",
    "start-before-ready": "startsession only once the session reported status 1 (ready)",
    "command-before-start": "drive commands only on a session that startsession has started",
    "ws-before-start": "the command channel is opened only once startsession has succeeded",
    "ws-requestid": "the channel's requestid is the SessionId of a live session the application created",
    "ws-second-channel": "one command channel per session at a time",
    "text-interval": "texts to one session (over HTTP and the channel together) the documented interval apart",
    "interrupt-with-text": "an Interrupt is sent with an empty Text",
    "audio-on-text-session": "SEND_AUDIO only on a session created with DriverType 3",
    "audio-reqid": "one ReqId for a whole audio sequence, its final packet included",
    "audio-seq": "an audio sequence's Seq counts 1, 2, 3, ... up to and including the final packet",
    "audio-format": "every audio packet is raw 16 kHz 16-bit mono PCM (no RIFF/WAVE or MP3 header) of at most"
    " the documented packet size",
    "audio-pacing": "after the documented head start, audio goes out at the documented ratio of send interval"
    " to audio duration (not faster than its lower bound allows, not slower than real time), within a"
    " tolerance for jitter",
    "audio-final": "every audio sequence ends with the empty IsFinal packet (else the endpoint ends it: FinalType 2)",
    "heartbeat-interval": "a channel is never silent for longer than the documented heartbeat interval"
    " (--heartbeat-seconds)",
    "stat-poll-rate": "advice: statsession on one session no more often than once per --stat-interval seconds"
    " (the docs suggest a poll interval, they do not require one)",
    "call-after-end": "no call but closesession on a session once it reported 110022 or 110013"
    " (preempted, closed) or was closed",
    "session-leaked": "every session created is closed before the application stops (an unclosed stream"
    " is billed until the 10-minute idle timeout)",
}

ADVICE: frozenset[str] = frozenset({"stat-poll-rate"})
"""Rules the docs suggest but do not make: reported, failing a run only with ``--strict-advice``."""
