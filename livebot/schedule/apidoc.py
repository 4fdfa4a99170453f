"""OpenAPI 3.1 description of the schedule API (merged into /api/v1/openapi.json by setup)."""

from __future__ import annotations

from typing import Any

from livebot.schedule.models import RUN_MODES, SEGMENT_SCENES, SESSION_STATUSES, SITE_ROLES, TIMELINE_KINDS
from livebot.web.openapi import error_responses

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
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": {"type": "string"}}


def listing(key: str, item: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "array", "items": ref(item)}}}


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
NINT = {"type": ["integer", "null"]}
TIME = {"type": "string", "format": "date-time"}
NTIME = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "ScheduleSite": obj(id=INT, slug=STR, name=STR, role={"enum": list(SITE_ROLES)}, location=STR,
                        latitude={"type": ["number", "null"]}, longitude={"type": ["number", "null"]}, timezone=STR,
                        contact=STR, lower_third=STR),
    "ScheduleSiteInput": {**obj(slug={"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
                                name={"type": "string", "maxLength": 128}, role={"enum": list(SITE_ROLES)},
                                location=STR, latitude=NUM, longitude=NUM, timezone=STR, contact=STR, lower_third=STR),
                          "required": ["slug", "name", "role"]},
    "ScheduleChannel": obj(id=INT, session_id=INT, source_id=STR, channel=STR, platform=STR, site_id=NINT, label=STR),
    "ScheduleChannelInput": {**obj(source_id=STR, channel=STR, platform=STR, site_id=NINT, label=STR),
                             "required": ["source_id", "channel"]},
    "ScheduleSession": obj(id=INT, title=STR, theme=STR, description=STR, planned_start=TIME, planned_end=TIME,
                           timezone=STR, status={"enum": list(SESSION_STATUSES)}, started_at=NTIME, ended_at=NTIME,
                           status_changed_by=STR, status_changed_at=NTIME),
    "ScheduleSessionDetail": {"allOf": [ref("ScheduleSession"), obj(
        site_ids={"type": "array", "items": INT}, channels={"type": "array", "items": ref("ScheduleChannel")},
        lots={"type": "array", "items": STR}, segments={"type": "array", "items": ref("ScheduleSegment")},
        mode={"enum": list(RUN_MODES)}, robot_url=STR, current_segment_id=NINT, on_air_site_id=NINT,
        segment_started_at=NTIME)]},
    "ScheduleSessionInput": {**obj(
        title={"type": "string", "maxLength": 255}, theme=STR, description=STR,
        planned_start={**TIME, "description": "ISO 8601; without an offset it is read in `timezone`; must be in the future"},
        planned_end={**TIME, "description": "after planned_start, at most 12 h later"}, timezone=STR,
        status={"enum": ["draft", "scheduled"], "description": "on creation only"},
        site_ids={"type": "array", "items": INT}, channels={"type": "array", "items": ref("ScheduleChannelInput")},
        lots={"type": "array", "items": STR}, robot_url={"type": "string", "description": "WeCom group robot webhook"},
        mode={"enum": list(RUN_MODES)}), "required": ["title", "planned_start", "planned_end"]},
    "ScheduleSegment": obj(id=INT, session_id=INT, position=INT, title=STR, offset_s=INT, duration_s=INT, end_s=INT,
                           site_id=NINT, pip_site_id=NINT, scene={"enum": list(SEGMENT_SCENES)}, lot=STR,
                           talking_points=STR, faq_tags={"type": "array", "items": STR}),
    "ScheduleSegmentInput": {**obj(
        title=STR, offset_s={"type": "integer", "minimum": 0, "description": "omit to append after the last segment"},
        duration_s={"type": "integer", "minimum": 10}, site_id=NINT, pip_site_id=NINT,
        scene={"enum": list(SEGMENT_SCENES)}, lot=STR, talking_points=STR, faq_tags={"type": "array", "items": STR}),
        "required": ["title", "duration_s"]},
    "ScheduleTimelineItem": obj(id=INT, session_id=INT, at=TIME, kind={"enum": list(TIMELINE_KINDS)}, segment_id=NINT,
                                site_id=NINT, by=STR, payload={"type": "object"}),
    "ScheduleJobRun": obj(id=INT, job_id=STR, session_id=NINT, kind={"enum": ["golive", "segment", "reminder", "end"]},
                          planned_at=TIME, ran_at=TIME, outcome={"enum": ["running", "fired", "skipped", "missed", "failed"]},
                          instance=STR, detail=STR),
}

SITE_ID, SESSION_ID = [path_param("site_id")], [path_param("session_id")]
SEGMENT_ID = [*SESSION_ID, path_param("segment_id")]
RANGE = [query("from", "ISO 8601 start of the window"), query("to", "ISO 8601 end of the window")]
CUE_BODY = {**obj(cue={"enum": ["next_segment", "switch_site", "standby", "custom"]}, segment_id=INT, site_id=INT,
                  from_site_id=INT, text=STR), "required": ["cue"]}

PATHS: dict[str, Any] = {
    f"{P}/sites": {
        "get": op("List sites", schema=listing("sites", "ScheduleSite"), errors=(401, 403)),
        "post": op("Create a site", "201", ref("ScheduleSite"), ref("ScheduleSiteInput"), (400, 401, 403)),
    },
    f"{P}/sites/{{site_id}}": {
        "get": op("One site", schema=ref("ScheduleSite"), params=SITE_ID),
        "patch": op("Change a site (fields left out keep their value)", schema=ref("ScheduleSite"),
                    body=ref("ScheduleSiteInput"), params=SITE_ID),
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
                    body=ref("ScheduleSessionInput"), errors=(400, 401, 403, 404, 409), params=SESSION_ID),
        "delete": op("Delete a draft or cancelled session", "204", errors=(401, 403, 404, 409), params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/sites": {
        "put": op("Replace the sites taking part", schema=obj(site_ids={"type": "array", "items": INT}),
                  body=obj(site_ids={"type": "array", "items": INT}), errors=(400, 401, 403, 404, 409), params=SESSION_ID),
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
                  body=obj(lots={"type": "array", "items": STR}), params=SESSION_ID),
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
                    body=ref("ScheduleSegmentInput"), errors=(400, 401, 403, 404, 409), params=SEGMENT_ID),
        "delete": op("Remove a segment", "204", errors=(401, 403, 404, 409), params=SEGMENT_ID),
    },
    f"{P}/sessions/{{session_id}}/segments/reorder": {
        "post": op("Reorder segments; they are re-timed back to back", schema=listing("segments", "ScheduleSegment"),
                   body={**obj(order={"type": "array", "items": INT}), "required": ["order"]},
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
                   body=obj(segment_id=INT, go_back={"type": "boolean"}), errors=(400, 401, 403, 404, 409), params=SESSION_ID),
    },
    f"{P}/sessions/{{session_id}}/site": {
        "post": op("Put a site on air", schema=obj(on_air_site_id=INT), body={**obj(site_id=INT), "required": ["site_id"]},
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
                   {**obj(site_id=INT), "required": ["site_id"]}, (400, 401, 403, 404, 409),
                   [*SESSION_ID, path_param("cue_id")]),
    },
    f"{P}/sessions/{{session_id}}/cues/{{cue_id}}/execute": {
        "post": op("Carry out a switch cue; a cue the show has moved past is 409 unless go_back (a confirmed 回到该段)",
                   schema={"type": "object"}, body=obj(go_back={"type": "boolean"}), errors=(400, 401, 403, 404, 409),
                   params=[*SESSION_ID, path_param("cue_id")]),
    },
    f"{P}/sessions/{{session_id}}/notes": {
        "post": op("A note between sites", "201", {"type": "object"}, {**obj(text=STR, site_id=INT), "required": ["text"]},
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
