// Status page rendering; see status_page.hpp.
#include "gateway/status_page.hpp"

#include <cstdio>

#include "gateway/access_log.hpp"

namespace wsgate::gw {

namespace {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string number(std::uint64_t n) { return std::to_string(n); }

std::string bytes_text(std::uint64_t n) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  std::size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, unit == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[unit]);
  return buffer;
}

std::string td(std::string_view text, bool numeric = false) {
  return std::string(numeric ? "<td class=n>" : "<td>") + html_escape(text) + "</td>";
}

// Field writers for the JSON document.
struct JsonObject {
  std::string& out;
  bool first = true;
  explicit JsonObject(std::string& o) : out(o) { out.push_back('{'); }
  void key(std::string_view k) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, k);
    out.push_back(':');
  }
  void string(std::string_view k, std::string_view v) {
    key(k);
    append_json_string(out, v);
  }
  void uint(std::string_view k, std::uint64_t v) {
    key(k);
    out += std::to_string(v);
  }
  void real(std::string_view k, double v) {
    key(k);
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%.3f", v);
    out += buffer;
  }
  void boolean(std::string_view k, bool v) {
    key(k);
    out += v ? "true" : "false";
  }
  void end() { out.push_back('}'); }
};

constexpr std::string_view kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;background:#fff;min-width:40%}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}th{background:#f0f0f0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#17702a;font-weight:600}.bad{color:#b3261e;font-weight:600}
.meta{color:#555}.pill{display:inline-block;padding:0 .5em;border-radius:.6em;background:#eee;margin-right:.3em}
)";

// Reloads the <main> element from the page itself every 5 s: no flicker, no
// second renderer in JS. Without JS the <noscript> meta refresh does it.
constexpr std::string_view kScript = R"(
setInterval(function(){
  fetch(location.pathname,{cache:'no-store'}).then(function(r){return r.text();}).then(function(t){
    var d=new DOMParser().parseFromString(t,'text/html');var m=d.getElementById('status');
    if(m)document.getElementById('status').replaceWith(m);
  }).catch(function(){});
},5000);
)";

}  // namespace

std::string format_uptime(double seconds) {
  auto total = static_cast<std::uint64_t>(seconds < 0 ? 0 : seconds);
  std::uint64_t days = total / 86400, hours = total / 3600 % 24, minutes = total / 60 % 60, secs = total % 60;
  std::string out;
  if (days != 0) out += std::to_string(days) + "d ";
  if (days != 0 || hours != 0) out += std::to_string(hours) + "h ";
  if (days != 0 || hours != 0 || minutes != 0) out += std::to_string(minutes) + "m ";
  out += std::to_string(secs) + "s";
  return out;
}

std::string render_status_html(const StatusSnapshot& s) {
  std::string h;
  h.reserve(8192);
  h += "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
       "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
       "<title>wsgate status</title><noscript><meta http-equiv=refresh content=5></noscript><style>";
  h += kStyle;
  h += "</style></head><body><main id=status>\n";
  h += "<h1>wsgate " + html_escape(s.version) + "</h1>\n<p class=meta>";
  h += s.draining ? "<span class=bad>draining</span>"
       : s.ready  ? "<span class=ok>ready</span>"
                  : "<span class=bad>not ready</span>";
  h += " &middot; up " + format_uptime(s.uptime_seconds) + " &middot; " + number(s.workers) +
       " workers &middot; " + number(s.open_connections) + " open connections &middot; " +
       number(s.open_streams) + " open WebSockets (" + number(s.streams_total) + " since start)";
  if (s.access_log_dropped != 0)
    h += " &middot; <span class=bad>" + number(s.access_log_dropped) + " access log lines dropped</span>";
  h += "</p>\n";

  h += "<h2>Listeners</h2>\n<table><tr><th>name<th>address<th>protocols<th>open "
       "connections<th>accepted</tr>\n";
  for (const auto& l : s.listeners) {
    std::string protocols;
    for (const auto& p : l.protocols) protocols += "<span class=pill>" + html_escape(p) + "</span>";
    if (l.tls) protocols += "<span class=pill>tls</span>";
    h += "<tr>" + td(l.name) + td(l.address) + "<td>" + protocols + "</td>" +
         td(number(l.open_connections), true) + td(number(l.connections_total), true) + "</tr>\n";
  }
  h += "</table>\n";

  h += "<h2>Routes</h2>\n<table><tr><th>name<th>match<th>backend<th>open WebSockets<th>upgraded<th>handshakes"
       "<th>failed<th>messages c&rarr;b<th>messages b&rarr;c<th>bytes c&rarr;b<th>bytes b&rarr;c</tr>\n";
  for (const auto& r : s.routes) {
    h += "<tr>" + td(r.name) + td(r.match) + td(r.backend) + td(number(r.open_streams), true) +
         td(number(r.streams_total), true) + td(number(r.handshakes_total), true) +
         td(number(r.handshakes_failed), true) + td(number(r.messages_client_to_backend), true) +
         td(number(r.messages_backend_to_client), true) + td(bytes_text(r.bytes_client_to_backend), true) +
         td(bytes_text(r.bytes_backend_to_client), true) + "</tr>\n";
  }
  h += "</table>\n";

  h += "<h2>Backends</h2>\n<table><tr><th>name<th>protocol<th>endpoints<th>connect errors</tr>\n";
  for (const auto& b : s.backends) {
    std::string endpoints;
    for (const auto& e : b.endpoints) {
      endpoints += std::string("<span class=") + (e.healthy ? "ok" : "bad") + ">" + html_escape(e.address) +
                   " " + (e.healthy ? "healthy" : "unhealthy") + "</span><br>";
    }
    if (b.endpoints.empty()) endpoints = "<span class=bad>none resolved</span>";
    h += "<tr>" + td(b.name) + td(b.protocol + (b.tls ? " + tls" : "")) + "<td>" + endpoints + "</td>" +
         td(number(b.connect_errors), true) + "</tr>\n";
  }
  h += "</table>\n<p class=meta>Refreshes every 5 s. Also: <a href=\"/metrics\">/metrics</a>, "
       "<a href=\"/status.json\">/status.json</a>, <a href=\"/healthz\">/healthz</a>, "
       "<a href=\"/readyz\">/readyz</a>.</p>\n</main><script>";
  h += kScript;
  h += "</script></body></html>\n";
  return h;
}

std::string render_status_json(const StatusSnapshot& s, std::string_view extra_json) {
  std::string out;
  out.reserve(4096);
  JsonObject doc(out);
  doc.string("version", s.version);
  doc.real("uptime_seconds", s.uptime_seconds);
  doc.real("start_time_seconds", s.start_time_seconds);
  doc.uint("workers", s.workers);
  doc.boolean("ready", s.ready);
  doc.boolean("draining", s.draining);
  doc.uint("open_connections", s.open_connections);
  doc.uint("open_websockets", s.open_streams);
  doc.uint("websockets_total", s.streams_total);
  doc.uint("access_log_dropped", s.access_log_dropped);

  doc.key("listeners");
  out.push_back('[');
  for (std::size_t i = 0; i < s.listeners.size(); ++i) {
    const auto& l = s.listeners[i];
    if (i != 0) out.push_back(',');
    JsonObject o(out);
    o.string("name", l.name);
    o.string("address", l.address);
    o.boolean("tls", l.tls);
    o.key("protocols");
    out.push_back('[');
    for (std::size_t k = 0; k < l.protocols.size(); ++k) {
      if (k != 0) out.push_back(',');
      append_json_string(out, l.protocols[k]);
    }
    out.push_back(']');
    o.uint("open_connections", l.open_connections);
    o.uint("connections_total", l.connections_total);
    o.end();
  }
  out.push_back(']');

  doc.key("routes");
  out.push_back('[');
  for (std::size_t i = 0; i < s.routes.size(); ++i) {
    const auto& r = s.routes[i];
    if (i != 0) out.push_back(',');
    JsonObject o(out);
    o.string("name", r.name);
    o.string("match", r.match);
    o.string("backend", r.backend);
    o.uint("open_websockets", r.open_streams);
    o.uint("websockets_total", r.streams_total);
    o.uint("handshakes_total", r.handshakes_total);
    o.uint("handshakes_failed", r.handshakes_failed);
    o.uint("client_to_backend_messages", r.messages_client_to_backend);
    o.uint("backend_to_client_messages", r.messages_backend_to_client);
    o.uint("client_to_backend_bytes", r.bytes_client_to_backend);
    o.uint("backend_to_client_bytes", r.bytes_backend_to_client);
    o.end();
  }
  out.push_back(']');

  doc.key("backends");
  out.push_back('[');
  for (std::size_t i = 0; i < s.backends.size(); ++i) {
    const auto& b = s.backends[i];
    if (i != 0) out.push_back(',');
    JsonObject o(out);
    o.string("name", b.name);
    o.string("protocol", b.protocol);
    o.boolean("tls", b.tls);
    o.uint("connect_errors", b.connect_errors);
    o.key("endpoints");
    out.push_back('[');
    for (std::size_t k = 0; k < b.endpoints.size(); ++k) {
      if (k != 0) out.push_back(',');
      JsonObject e(out);
      e.string("address", b.endpoints[k].address);
      e.boolean("healthy", b.endpoints[k].healthy);
      e.end();
    }
    out.push_back(']');
    o.end();
  }
  out.push_back(']');

  if (!extra_json.empty()) {
    doc.key("extra");
    out += extra_json;
  }
  doc.end();
  out.push_back('\n');
  return out;
}

}  // namespace wsgate::gw
