// The HTTP request tool: GET or POST to an allow-listed host (loopback by default). The
// body streams in and the read stops at max_response_bytes; a watchdog stops the client
// at the timeout, so a slow or dripping server cannot hold the call past it.
#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

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
    const bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), ::isdigit);
    const int value = digits ? std::stoi(port) : 0;
    if (value < 1 || value > 65535)
      return make_error(ErrorCode::invalid_argument,
                        "url: bad port '" + port.substr(0, 16) + "' (expected 1-65535)");
    u.port = value;
  }
  return u;
}

// Calls `on_timeout` unless finish() comes before `deadline`; joins in the destructor.
class Watchdog {
 public:
  Watchdog(std::chrono::steady_clock::time_point deadline, std::function<void()> on_timeout)
      : thread_([this, deadline, f = std::move(on_timeout)] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_until(lock, deadline, [this] { return finished_; })) {
            fired_ = true;
            lock.unlock();
            f();
          }
        }) {}
  ~Watchdog() {
    finish();
    thread_.join();
  }
  void finish() {
    std::lock_guard lock(mu_);
    finished_ = true;
    cv_.notify_all();
  }
  bool fired() {
    std::lock_guard lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  bool fired_ = false;
  std::thread thread_;
};

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
    httplib::Request req;
    req.method = method == "POST" ? "POST" : "GET";
    req.path = url->path;
    if (req.method == "POST") {
      req.body = args.value("body", std::string());
      req.set_header("Content-Type", "text/plain");
    }
    int status = 0;
    std::string body;
    bool cut = false, late = false;
    const auto deadline = std::chrono::steady_clock::now() + opt_.timeout;
    auto past_deadline = [&] { return late = std::chrono::steady_clock::now() >= deadline; };
    req.response_handler = [&](const httplib::Response& r) {
      status = r.status;
      return !past_deadline();
    };
    req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
      if (past_deadline()) return false;
      const std::size_t room = opt_.max_response_bytes - body.size();
      if (n <= room) {
        body.append(data, n);
        return true;
      }
      body.append(data, room);
      cut = true;
      return false;  // stop reading: the rest is never received
    };
    Watchdog dog(deadline, [&cli] { cli.stop(); });  // ends a read blocked in recv()
    auto res = cli.send(req);
    dog.finish();
    if (dog.fired() || late) {
      return make_error(ErrorCode::timeout, "request to " + url->host + " timed out after " +
                                                std::to_string(opt_.timeout.count()) + " ms");
    }
    if (!res && !(cut && res.error() == httplib::Error::Canceled)) {
      return make_error(ErrorCode::io,
                        "request to " + url->host + " failed: " + httplib::to_string(res.error()));
    }
    if (res) status = res->status;
    if (cut) body += "\n[cut at " + std::to_string(opt_.max_response_bytes) + " bytes]";
    return "HTTP " + std::to_string(status) + "\n" + body;
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
