// The HTTP request tool: GET or POST to an allow-listed host (loopback by default).
#include <httplib.h>

#include <algorithm>

#include "actors/builtin_tools.h"

namespace agentrt::actors {
namespace {

struct Url {
  std::string scheme, host, path;
  int port = 0;
};

Result<Url> parse_url(const std::string& text) {
  Url u;
  const auto sep = text.find("://");
  if (sep == std::string::npos)
    return make_error(ErrorCode::invalid_argument, "url: missing scheme");
  u.scheme = text.substr(0, sep);
  if (u.scheme != "http" && u.scheme != "https")
    return make_error(ErrorCode::invalid_argument, "url: scheme must be http or https");
  std::string rest = text.substr(sep + 3);
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string::npos)
    return make_error(ErrorCode::invalid_argument, "url: user info is not allowed");
  std::string port;
  if (!authority.empty() && authority[0] == '[') {  // [::1]:8080
    const auto close = authority.find(']');
    if (close == std::string::npos) return make_error(ErrorCode::invalid_argument, "url: bad host");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return make_error(ErrorCode::invalid_argument, "url: empty host");
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit))
      return make_error(ErrorCode::invalid_argument, "url: bad port '" + port + "'");
    u.port = std::stoi(port);
  }
  return u;
}

class HttpTool final : public Tool {
 public:
  HttpTool(ToolSpec spec, HttpToolOptions opt) : spec_(std::move(spec)), opt_(std::move(opt)) {}
  const ToolSpec& spec() const override { return spec_; }

  Result<std::string> invoke(const Json& args) override {
    auto url = parse_url(args.at("url").get<std::string>());
    if (!url.ok()) return url.error();
    if (std::find(opt_.allow_hosts.begin(), opt_.allow_hosts.end(), url->host) ==
        opt_.allow_hosts.end()) {
      return make_error(ErrorCode::invalid_argument,
                        "host '" + url->host + "' is not in the allow-list");
    }
    const std::string method = args.value("method", std::string("GET"));
    const std::string host =
        url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host;
    httplib::Client cli(url->scheme + "://" + host + ":" + std::to_string(url->port));
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(opt_.timeout).count();
    const auto usecs =
        std::chrono::duration_cast<std::chrono::microseconds>(opt_.timeout).count() % 1000000;
    cli.set_connection_timeout(secs, usecs);
    cli.set_read_timeout(secs, usecs);
    cli.set_write_timeout(secs, usecs);
    auto res = method == "POST"
                   ? cli.Post(url->path, args.value("body", std::string()), "text/plain")
                   : cli.Get(url->path);
    if (!res) {
      return make_error(ErrorCode::io,
                        "request to " + url->host + " failed: " + httplib::to_string(res.error()));
    }
    std::string body = res->body;
    if (body.size() > opt_.max_response_bytes) {
      body.resize(opt_.max_response_bytes);
      body += "\n[cut at " + std::to_string(opt_.max_response_bytes) + " bytes]";
    }
    return "HTTP " + std::to_string(res->status) + "\n" + body;
  }

 private:
  ToolSpec spec_;
  HttpToolOptions opt_;
};

}  // namespace

Result<std::shared_ptr<Tool>> make_http_tool(const ToolConfig& config) {
  if (config.http.allow_hosts.empty())
    return make_error(ErrorCode::invalid_argument, "http tool: the host allow-list is empty");
  ToolSpec s;
  s.name = config.name.empty() ? "http_request" : config.name;
  s.description = config.description.empty()
                      ? "Send an HTTP GET or POST request and return the status and body."
                      : config.description;
  s.parameters = Json::parse(R"({"type": "object", "properties": {
      "url": {"type": "string", "description": "http://host:port/path"},
      "method": {"type": "string", "enum": ["GET", "POST"]},
      "body": {"type": "string"}}, "required": ["url"], "additionalProperties": false})");
  s.timeout =
      config.timeout.count() > 0 ? config.timeout : config.http.timeout + std::chrono::seconds(1);
  return std::shared_ptr<Tool>(std::make_shared<HttpTool>(std::move(s), config.http));
}

}  // namespace agentrt::actors
