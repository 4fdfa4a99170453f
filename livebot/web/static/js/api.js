// The one JSON fetch of the browser pages: same-origin, CSRF token from <meta name="csrf-token">,
// errors as ApiError with a Chinese message (the server's own, else one for the HTTP status).

export function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

const STATUS_MESSAGES = {
  400: "请求有误，请检查后重试",
  401: "登录已过期，请重新登录",
  403: "没有权限执行此操作",
  404: "找不到该内容，可能已被删除",
  409: "内容已被他人修改，请刷新后重试",
  413: "内容过大",
  429: "操作过于频繁，请稍后再试",
};

export function statusMessage(status) {
  if (status === 0) return "网络错误，请检查连接后重试";
  return STATUS_MESSAGES[status] || (status >= 500 ? `服务器出错（${status}），请稍后重试` : `请求失败（${status}）`);
}

export class ApiError extends Error {
  constructor(message, { status = 0, field = "", errors = null, confirm = "", data = null } = {}) {
    super(message);
    this.status = status;
    this.field = field || "";
    this.errors = errors || null;    // every field's problem at once: {field: message}
    this.confirm = confirm || "";    // a 409 a person may override by sending this flag as true
    this.data = data || {};          // the whole error body (e.g. compliance findings)
  }
}

export async function call(method, url, body) {
  const init = { method, headers: { "X-CSRF-Token": csrf(), Accept: "application/json" }, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try { resp = await fetch(url, init); } catch (_) { throw new ApiError(statusMessage(0)); }
  if (resp.status === 204) return null;
  let data = null;
  try { data = await resp.json(); } catch (_) { data = null; }
  if (!resp.ok) {
    const field = data && typeof data.field === "string" ? data.field : "";
    let message = data && typeof data.error === "string" && data.error ? data.error : statusMessage(resp.status);
    if (field && message.startsWith(field + ": ")) message = message.slice(field.length + 2);
    throw new ApiError(message, { status: resp.status, field, errors: data && data.errors, confirm: data && data.confirm, data });
  }
  return data;
}

export const post = (url, body) => call("POST", url, body === undefined ? {} : body);
