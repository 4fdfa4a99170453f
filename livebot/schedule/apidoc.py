"""OpenAPI 3.1 description of the schedule API (merged into /api/v1/openapi.json by setup)."""

from __future__ import annotations

from typing import Any

from livebot.platforms import PLATFORMS
from livebot.schedule.models import RUN_MODES, SEGMENT_SCENES, SESSION_STATUSES, SITE_ROLES, TIMELINE_KINDS
from livebot.web.openapi import error_responses, id_schema, text_schema

P = "/api/v1/schedule"
TAG = ["schedule"]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


def op(summary: str, ok: str = "200", schema: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
       errors: tuple[int, ...] = (400, 401, 403, 404), params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"summary": summary, "tags": TAG,
                              "responses": {ok: answer("No content" if ok == "204" else "OK", schema), **error_responses(*errors)}}
    if body is not None:
        result["requestBody"] = json_body(body)
    if params:
        result["parameters"] = params
    return result


def path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 10**15 - 1}}


def query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or {"type": "string"}}


def listing(key: str, item: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "array", "items": ref(item)}}}


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
NINT = {"type": ["integer", "null"]}
TIME = {"type": "string", "format": "date-time"}
NTIME = {"type": ["string", "null"], "format": "date-time"}
REFUSED = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
"""Control, line-separator and direction characters every schedule text refuses (validate.text)."""
LINE = r"\t\n\r"


def line(max_len: int, required: bool = False) -> dict[str, Any]:
    """One line of text (validate.text): trimmed, no control or direction characters."""
    return text_schema(max_len, required=required, refuse=REFUSED + LINE, nullable=not required)


def para(max_len: int) -> dict[str, Any]:
    return text_schema(max_len, refuse=REFUSED, nullable=True)


DAY = r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))"
MOMENT = {"type": "string", "maxLength": 40,
          "pattern": rf"^[12]\d{{3}}-{DAY}[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{{1,6}})?)?(?:Z|[+-](?:0\d|1[0-3]):[0-5]\d)?$",
          "description": "ISO 8601; without an offset it is read in the session's `timezone` (Asia/Shanghai in queries)"}
OPTIONAL_MOMENT = {"anyOf": [MOMENT, {"const": ""}], "description": "ISO 8601, or empty for no bound"}
OPTIONAL_ID = {"anyOf": [id_schema(), {"type": "null"}, {"const": ""}], "description": "a site id; null or empty for none"}
SITE_IDS = {"type": "array", "items": id_schema(), "minItems": 1, "maxItems": 10, "description": "at least one site"}
LOT = {"type": "string", "pattern": r"^ *[A-Za-z0-9][A-Za-z0-9_./-]{0,19} *$",
       "description": "a GS1 lot: up to 20 of A-Z a-z 0-9 _ . / -"}
FAQ_TAG = line(32, required=True)

SCHEMAS: dict[str, Any] = {
    "ScheduleSite": obj(id=INT, slug=STR, name=STR, role={"enum": list(SITE_ROLES)}, location=STR,
                        latitude={"type": ["number", "null"]}, longitude={"type": ["number", "null"]}, timezone=STR,
                        contact=STR, lower_third=STR),
    "ScheduleSitePatch": obj(slug={"type": "string", "pattern": "^ *[a-z0-9][a-z0-9-]{0,63} *$"},
                             name=line(128, required=True), role={"enum": list(SITE_ROLES)}, location=line(255),
                             latitude={"type": ["number", "null"], "minimum": -90, "maximum": 90},
                             longitude={"type": ["number", "null"], "minimum": -180, "maximum": 180},
                             timezone=ref("TimeZone"), contact=line(255), lower_third=line(255)),
    "ScheduleSiteInput": {"allOf": [ref("ScheduleSitePatch")], "required": ["slug", "name", "role"]},
    "TimeZone": {"type": ["string", "null"], "maxLength": 64,
                 "description": "an IANA time zone name the server knows (zoneinfo), e.g. Asia/Shanghai; empty or null for "
                                "Asia/Shanghai; an unknown name is a 400 naming timezone"},
    "ScheduleChannel": obj(id=INT, session_id=INT, source_id=STR, channel=STR, platform=STR, site_id=NINT, label=STR),
    "ScheduleChannelInput": {**obj(source_id={"type": "string", "maxLength": 64,
                                              "pattern": "^ *[A-Za-z0-9][A-Za-z0-9_.:-]{0,63} *$"},
                                   channel=line(128, required=True), platform={"enum": list(PLATFORMS)},
                                   site_id=OPTIONAL_ID, label=line(128)),
                             "required": ["source_id", "channel"]},
    "ScheduleSession": obj(id=INT, title=STR, theme=STR, description=STR, planned_start=TIME, planned_end=TIME,
                           timezone=STR, status={"enum": list(SESSION_STATUSES)}, started_at=NTIME, ended_at=NTIME,
                           status_changed_by=STR, status_changed_at=NTIME),
    "ScheduleSessionDetail": {"allOf": [ref("ScheduleSession"), obj(
        site_ids={"type": "array", "items": INT}, channels={"type": "array", "items": ref("ScheduleChannel")},
        lots={"type": "array", "items": STR}, segments={"type": "array", "items": ref("ScheduleSegment")},
        mode={"enum": list(RUN_MODES)}, robot_url=STR, current_segment_id=NINT, on_air_site_id=NINT,
        segment_started_at=NTIME)]},
    "ScheduleSessionPatch": obj(
        title=line(255, required=True), theme=line(64), description=para(4000),
        planned_start={**MOMENT, "description": "ISO 8601; without an offset it is read in `timezone`; must be in the future "
                                                "(a past start is a 400 naming planned_start)"},
        planned_end={**MOMENT, "description": "after planned_start, at most 12 h later (else a 400 naming planned_end)"},
        timezone=ref("TimeZone"),
        status={"enum": ["draft", "scheduled"], "description": "on creation only (ignored on a change)"},
        site_ids=SITE_IDS,
        channels={"type": "array", "items": ref("ScheduleChannelInput"), "maxItems": 50},
        lots={"type": ["array", "null"], "items": LOT, "maxItems": 50},
        robot_url={"type": "string", "maxLength": 512, "allOf": [{"pattern": f"^[^{REFUSED}{LINE}]*$"}, {"pattern": "^ *(?:https?://.*)?$"}],
                   "description": "WeCom group robot webhook (http or https), or empty"},
        mode={"enum": list(RUN_MODES)}),
    "ScheduleSessionInput": {"allOf": [ref("ScheduleSessionPatch")], "required": ["title", "planned_start", "planned_end", "site_ids"]},
    "ScheduleSegment": obj(id=INT, session_id=INT, position=INT, title=STR, offset_s=INT, duration_s=INT, end_s=INT,
                           site_id=NINT, pip_site_id=NINT, scene={"enum": list(SEGMENT_SCENES)}, lot=STR,
                           talking_points=STR, faq_tags={"type": "array", "items": STR}),
    "ScheduleSegmentPatch": obj(
        title=line(128, required=True),
        offset_s={"type": ["integer", "null"], "minimum": 0, "maximum": 12 * 3600, "description": "omit to append after the last segment"},
        duration_s={"type": "integer", "minimum": 10, "maximum": 6 * 3600}, site_id=OPTIONAL_ID,
        pip_site_id={**OPTIONAL_ID, "description": "a site other than site_id"},
        scene={"enum": list(SEGMENT_SCENES)}, lot={"anyOf": [LOT, {"type": "string", "pattern": "^ *$"}, {"type": "null"}]},
        talking_points=para(4000), faq_tags={"type": ["array", "null"], "items": FAQ_TAG, "maxItems": 20}),
    "ScheduleSegmentInput": {"allOf": [ref("ScheduleSegmentPatch")], "required": ["title", "duration_s"]},
    "ScheduleTimelineItem": obj(id=INT, session_id=INT, at=TIME, kind={"enum": list(TIMELINE_KINDS)}, segment_id=NINT,
                                site_id=NINT, by=STR, payload={"type": "object"}),
    "ScheduleJobRun": obj(id=INT, job_id=STR, session_id=NINT, kind={"enum": ["golive", "segment", "reminder", "end"]},
                          planned_at=TIME, ran_at=TIME, outcome={"enum": ["running", "fired", "skipped", "missed", "failed"]},
                          instance=STR, detail=STR),
}

SITE_ID, SESSION_ID = [path_param("site_id")], [path_param("session_id")]
SEGMENT_ID = [*SESSION_ID, path_param("segment_id")]
RANGE = [query("from", "ISO 8601 start of the window", OPTIONAL_MOMENT), query("to", "ISO 8601 end of the window", OPTIONAL_MOMENT)]
CUE_BODY = {**obj(cue={"enum": ["next_segment", "switch_site", "standby", "custom"]}, segment_id=OPTIONAL_ID, site_id=OPTIONAL_ID,
                  from_site_id=OPTIONAL_ID, text=line(500)), "required": ["cue"]}

NOTE_BODY = {**obj(text=text_schema(500, required=True, refuse=REFUSED), site_id=OPTIONAL_ID), "required": ["text"]}

PATHS: dict[str, Any] = {
    f"{P}/sites": {
        "get": op("List sites", schema=listing("sites", "ScheduleSite"), errors=(401, 403)),
        "post": op("Create a site (a slug in use is a 409 naming slug)", "201", ref("ScheduleSite"), ref("ScheduleSiteInput"), (400, 401, 403, 409)),
    },
    f"{P}/sites/{{site_id}}": {
        "get": op("One site", schema=ref("ScheduleSite"), params=SITE_ID),
        "patch": op("Change a site (fields left out keep their value)", schema=ref("ScheduleSite"),
                    body=ref("ScheduleSitePatch"), errors=(400, 401, 403, 404, 409), params=SITE_ID),
        "delete": op("Delete a site no unfinished session uses", "204", errors=(401, 403, 404, 409), params=SITE_ID),
    },
    f"{P}/sessions": {
        "get": op("List sessions overlapping a window", schema=listing("sessions", "ScheduleSession"),
                  errors=(400, 401, 403), params=[*RANGE, query("status", "comma-separated statuses")]),
        "post": op("Create a session with its sites, channels and lots", "201", ref("ScheduleSessionDetail"),
                   ref("ScheduleSessionInput"), (400, 401, 403)),
    },
    f"{P}/sessions/{{session_id}}": {
        "get": op("One session with sites, channels, lots, segments and live state", schema=ref("ScheduleSessionDetail"),
                  params=SESSION_ID),
        "patch": op("Change a session; segments must still fit", schema=ref("ScheduleSessionDetail"),
                    body=ref("ScheduleSessionPatch"), errors=(400, 401, 403, 404, 409), params=SESSION_ID),
        "delete": op("Delete a draft or cancelled session", "204", errors=(401, 403, 404, 409), params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/sites": {
        "put": op("Replace the sites taking part", schema=obj(site_ids={"type": "array", "items": INT}),
                  body={**obj(site_ids=SITE_IDS), "required": ["site_ids"]}, errors=(400, 401, 403, 404, 409), params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/channels": {
        "get": op("Channels routed to the session", schema=listing("channels", "ScheduleChannel"), params=SESSION_ID),
        "post": op("Bind a (source, channel) to the session", "201", ref("ScheduleChannel"), ref("ScheduleChannelInput"),
                   (400, 401, 403, 404, 409), SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/channels/{{channel_id}}": {
        "delete": op("Unbind a channel", "204", errors=(401, 403, 404), params=[*SESSION_ID, path_param("channel_id")]),
    },
    f"{P}/sessions/{{session_id}}/lots": {
        "get": op("Batches the session presents", schema=obj(lots={"type": "array", "items": STR}), params=SESSION_ID),
        "put": op("Replace the batches", schema=obj(lots={"type": "array", "items": STR}),
                  body={**obj(lots={"type": ["array", "null"], "items": LOT, "maxItems": 50}), "required": ["lots"]},
                  params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/status": {
        "post": op("Change status (draft → scheduled → live → ended, or cancelled)", schema=ref("ScheduleSession"),
                   body={**obj(status={"enum": list(SESSION_STATUSES)}), "required": ["status"]},
                   errors=(400, 401, 403, 404, 409), params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/segments": {
        "get": op("Run of show, in order", schema=listing("segments", "ScheduleSegment"), params=SESSION_ID),
        "post": op("Add a segment (overlaps refused)", "201", ref("ScheduleSegment"), ref("ScheduleSegmentInput"),
                   (400, 401, 403, 404, 409), SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/segments/{{segment_id}}": {
        "patch": op("Change a segment; a new duration shifts later segments", schema=ref("ScheduleSegment"),
                    body=ref("ScheduleSegmentPatch"), errors=(400, 401, 403, 404, 409), params=SEGMENT_ID),
        "delete": op("Remove a segment", "204", errors=(401, 403, 404, 409), params=SEGMENT_ID),
    },
    f"{P}/sessions/{{session_id}}/segments/reorder": {
        "post": op("Reorder segments; they are re-timed back to back", schema=listing("segments", "ScheduleSegment"),
                   body={**obj(order={"type": "array", "items": id_schema(), "maxItems": 200}), "required": ["order"]},
                   errors=(400, 401, 403, 404, 409), params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/timeline": {
        "get": op("What actually happened (status, segment, site, cue, ack, note)",
                  schema=listing("timeline", "ScheduleTimelineItem"), params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/live": {
        "get": op("Live state for a producer console (also sent on websocket open)", schema={"type": "object"},
                  params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/advance": {
        "post": op("Put the next (or a given) segment on air; one not ahead of the segment on air is 409 unless go_back",
                   schema=obj(segment={"type": ["object", "null"]}),
                   body=obj(segment_id=OPTIONAL_ID, go_back={"type": "boolean"}), errors=(400, 401, 403, 404, 409), params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/site": {
        "post": op("Put a site on air", schema=obj(on_air_site_id=INT), body={**obj(site_id=id_schema()), "required": ["site_id"]},
                   params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/mode": {
        "post": op("Automatic or manual segment switching", schema=obj(mode=STR),
                   body={**obj(mode={"enum": list(RUN_MODES)}), "required": ["mode"]}, params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/cues": {
        "post": op("Cue every site (next segment, switch site, standby, custom)", "201", {"type": "object"}, CUE_BODY,
                   (400, 401, 403, 404, 409), SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/cues/{{cue_id}}/ack": {
        "post": op("A site acknowledges a cue (repeat: 200, nothing new)", "201", {"type": "object"},
                   {**obj(site_id=id_schema()), "required": ["site_id"]}, (400, 401, 403, 404, 409),
                   [*SESSION_ID, path_param("cue_id")]),
    },
    f"{P}/sessions/{{session_id}}/cues/{{cue_id}}/execute": {
        "post": op("Carry out a switch cue; a cue the show has moved past is 409 unless go_back (a confirmed 回到该段)",
                   schema={"type": "object"}, body=obj(go_back={"type": "boolean"}), errors=(400, 401, 403, 404, 409),
                   params=[*SESSION_ID, path_param("cue_id")]),
    },
    f"{P}/sessions/{{session_id}}/notes": {
        "post": op("A note between sites", "201", {"type": "object"}, NOTE_BODY,
                   params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/jobs": {
        "get": op("Scheduler jobs stored for the session and its runs (fired, skipped, missed, failed)",
                  schema=obj(jobs={"type": "array"}, runs={"type": "array", "items": ref("ScheduleJobRun")}),
                  params=SESSION_ID),
    },
    f"{P}/runs": {
        "get": op("Recent scheduler runs", schema=listing("runs", "ScheduleJobRun"), errors=(401, 403),
                  params=[query("outcome", "comma-separated outcomes, e.g. missed,failed")]),
    },
    f"{P}/conflicts": {
        "get": op("Sites or channels booked by overlapping sessions",
                  schema=obj(conflicts={"type": "array", "items": obj(kind={"enum": ["site", "channel"]},
                                                                       session_ids={"type": "array", "items": INT},
                                                                       what=STR, message=STR)}),
                  errors=(400, 401, 403), params=RANGE),
    },
    f"{P}/calendar/feeds": {
        "get": op("iCalendar feed URLs (with their secret tokens) for all sessions and per site",
                  schema=obj(feeds={"type": "array", "items": obj(feed=STR, name=STR, url=STR)}), errors=(401, 403)),
    },
}
