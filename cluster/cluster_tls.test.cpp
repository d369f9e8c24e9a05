// TLS on the cluster link (transport.h), with certificates made at test time by the openssl
// command: the file checks name the file; a node with a certificate of the cluster's CA joins a
// TLS coordinator and runs a job, undisturbed by a node with a certificate of another CA and a
// node without TLS, which are refused; the shared secret is still required under TLS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "cluster/cluster_test_process.h"
#include "cluster/coordinator.h"
#include "cluster/transport.h"
#include "cluster/wire.h"

namespace agentrt::cluster {
namespace {

using namespace std::chrono_literals;
using test_process::eventually;
using test_process::read_text;
namespace fs = std::filesystem;
const std::string kSource = AGENTRT_SOURCE_DIR;
const std::string kModel = kSource + "/models/tiny-calc";
const std::string kSecret = "tls-test-secret-0123456789";

// Two CAs, each with a leaf certificate and key, in a temporary folder: ca (the cluster's),
// a.pem/a.key signed by it, b.pem/b.key signed by ca2. EC P-256 keys, valid one day.
class Certs {
 public:
  Certs() : dir_(fs::path(::testing::TempDir()) / ("agentrt_tls_" + std::to_string(getpid()))) {
    fs::create_directories(dir_);
    ok_ = make_ca("ca") && make_leaf("a", "ca") && make_ca("ca2") && make_leaf("b", "ca2");
  }
  ~Certs() { fs::remove_all(dir_); }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  TlsFiles files(const std::string& leaf, const std::string& ca) const {
    return {path(leaf + ".pem"), path(leaf + ".key"), path(ca + ".pem")};
  }

 private:
  bool run(const std::string& args) {
    const std::string cmd = "cd '" + dir_.string() + "' && openssl " + args + " 2>>openssl.log";
    return std::system(cmd.c_str()) == 0;
  }
  bool make_ca(const std::string& ca) {
    return run("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=" +
               ca + " -keyout " + ca + ".key -out " + ca + ".pem");
  }
  bool make_leaf(const std::string& leaf, const std::string& ca) {
    return run("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + leaf +
               " -keyout " + leaf + ".key -out " + leaf + ".csr") &&
           run("x509 -req -days 1 -in " + leaf + ".csr -CA " + ca + ".pem -CAkey " + ca +
               ".key -CAcreateserial -out " + leaf + ".pem");
  }
  fs::path dir_;
  bool ok_ = false;
};

// `agentrt ARGS...` with stdout and stderr in a log file; SIGKILLed on destruction.
class Agentrt {
 public:
  Agentrt(std::vector<std::string> args, const std::string& name)
      : log_(::testing::TempDir() + "tls_" + name + "_" + std::to_string(getpid()) + ".log") {
    args.insert(args.begin(), AGENTRT_BIN);
    pid_ = fork();
    if (pid_ == 0) {
      if (std::freopen(log_.c_str(), "w", stdout) == nullptr || dup2(fileno(stdout), 2) < 0)
        _exit(126);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(AGENTRT_BIN, argv.data());
      _exit(127);
    }
  }
  ~Agentrt() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(log_.c_str());
  }
  std::string log() const { return read_text(log_); }
  // The exit status once it has ended within `limit`, else nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

std::vector<std::string> node_args(std::uint16_t port, const std::string& secret_file,
                                   const std::string& name, const std::optional<TlsFiles>& tls) {
  std::vector<std::string> args = {"node",      "--join",  "127.0.0.1:" + std::to_string(port),
                                   "--name",    name,      "--secret-file",
                                   secret_file, "--model", kModel,
                                   "--threads", "1",       "--kv-blocks",
                                   "512"};
  if (tls)
    args.insert(args.end(), {"--tls-cert", tls->cert, "--tls-key", tls->key, "--tls-ca", tls->ca});
  return args;
}

class ClusterTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new Certs(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(certs_->ok()) << "the openssl command failed: "
                              << read_text(certs_->path("openssl.log"));
    secret_file_ = certs_->path("secret");
    std::ofstream(secret_file_) << kSecret << "\n";
  }
  static Certs* certs_;
  std::string secret_file_;
};
Certs* ClusterTls::certs_ = nullptr;

TEST_F(ClusterTls, FileChecksNameTheFile) {
  const Certs& c = *certs_;
  EXPECT_TRUE(check_tls_files(c.files("a", "ca")).ok());
  EXPECT_TRUE(check_tls_files(c.files("b", "ca2")).ok());

  auto message = [](TlsFiles f) {
    auto s = check_tls_files(f);
    return s.ok() ? std::string("ok") : s.error().message;
  };
  TlsFiles f = c.files("a", "ca");
  f.ca.clear();
  EXPECT_NE(message(f).find("TLS needs three files"), std::string::npos) << message(f);

  f = c.files("a", "ca");
  f.cert = c.path("missing.pem");
  EXPECT_EQ(message(f), f.cert + ": no such file");

  f = c.files("a", "ca");
  f.cert = c.path("a.key");  // a key where the certificate belongs
  EXPECT_EQ(message(f), f.cert + ": not a PEM certificate");

  f = c.files("a", "ca");
  f.key = c.path("a.pem");
  EXPECT_EQ(message(f), f.key + ": not a PEM private key");

  f = c.files("a", "ca");
  f.key = c.path("b.key");
  EXPECT_EQ(message(f), f.key + ": not the private key of the certificate " + f.cert);

  f = c.files("a", "ca");
  f.ca = c.path("ca2.pem");  // a's certificate comes from the other CA
  EXPECT_NE(message(f).find(f.cert + ": does not verify against the CA " + f.ca + ": "),
            std::string::npos)
      << message(f);

  f = c.files("a", "ca");
  f.ca = c.path("secret");
  EXPECT_EQ(message(f), f.ca + ": not a PEM certificate");

  f = c.files("a", "ca");
  f.key = c.path("a.enc.key");
  std::ofstream(f.key) << "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
                          "-----END ENCRYPTED PRIVATE KEY-----\n";
  EXPECT_NE(message(f).find(f.key + ": the private key has a passphrase"), std::string::npos)
      << message(f);
}

TEST_F(ClusterTls, CoordinatorAndNodeRefuseBadFilesAtStart) {
  CoordinatorOptions o;
  o.secret = kSecret;
  o.tls = certs_->files("a", "ca");
  o.tls.key = certs_->path("b.key");
  auto c = Coordinator::start(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("b.key: not the private key"), std::string::npos);

  // The node checks its files before it loads the model, and exits.
  auto tls = certs_->files("b", "ca2");
  tls.ca = certs_->path("nothing.pem");
  Agentrt node(node_args(1, secret_file_, "bad-files", tls), "bad_files");
  auto code = node.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << node.log();
  EXPECT_EQ(*code, 1);
  EXPECT_NE(node.log().find(tls.ca + ": no such file"), std::string::npos) << node.log();

  // The flags go together.
  Agentrt partial({"node", "--join", "127.0.0.1:1", "--tls-cert", tls.cert}, "partial");
  code = partial.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(partial.log().find("--tls-cert requires --tls-key"), std::string::npos)
      << partial.log();
}

TEST_F(ClusterTls, NodeOfTheClusterCaJoinsAndRunsAJobOthersAreRefused) {
  CoordinatorOptions o;
  o.secret = kSecret;
  o.heartbeat = 100ms;
  // Room for a node process of the TSan build that runs the model beside another test
  // program on two cores; a dropped connection is still seen at once (not by heartbeats).
  o.heartbeat_timeout = 3000ms;
  o.tls = certs_->files("a", "ca");
  auto started = Coordinator::start(o);
  ASSERT_TRUE(started.ok()) << started.error().message;
  auto& coordinator = **started;

  // A certificate of another CA: the TLS handshake fails both ways, and the node says so.
  Agentrt stranger(
      node_args(coordinator.port(), secret_file_, "stranger", certs_->files("b", "ca2")),
      "stranger");
  // No TLS at all: the coordinator never answers BASP's handshake.
  Agentrt plain(node_args(coordinator.port(), secret_file_, "plain", std::nullopt), "plain");
  // The cluster's CA, leaf a (the coordinator's own certificate serves as a node's too).
  Agentrt member(node_args(coordinator.port(), secret_file_, "member", certs_->files("a", "ca")),
                 "member");
  ASSERT_TRUE(eventually([&] { return coordinator.nodes().size() == 1; }, 30s)) << member.log();
  EXPECT_EQ(coordinator.nodes()[0].name, "member");
  const NodeId member_id = coordinator.nodes()[0].id;

  std::mutex mu;
  std::condition_variable cv;
  std::optional<ClusterJobResult> result;
  const std::string file = kSource + "/workflows/examples/single_agent.yaml";
  ClusterJob job;
  job.id = "tls-job";
  job.workflow_yaml = read_text(file);
  job.workflow_file = file;
  coordinator.submit(std::move(job), [&](ClusterJobResult r) {
    std::lock_guard lock(mu);
    result = std::move(r);
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return result.has_value(); }));
    ASSERT_TRUE(result->status.ok()) << result->status.error().message;
    EXPECT_EQ(result->nodes, std::vector<std::string>{"member"});
    ASSERT_TRUE(result->report["outputs"].is_object());
    EXPECT_FALSE(result->report["outputs"].empty());
  }

  EXPECT_TRUE(
      eventually([&] { return stranger.log().find("cannot join") != std::string::npos; }, 15s))
      << stranger.log();
  EXPECT_TRUE(eventually([&] { return plain.log().find("cannot join") != std::string::npos; }, 15s))
      << plain.log();
  std::this_thread::sleep_for(1500ms);  // both keep knocking, every 500 ms
  // Their failed handshakes did not disturb the member's connection (libcaf_openssl's error
  // queue, transport.cpp): it is still the same membership.
  ASSERT_EQ(coordinator.nodes().size(), 1u) << "only the member joined";
  EXPECT_EQ(coordinator.nodes()[0].id, member_id);
  EXPECT_EQ(coordinator.refused(), 0) << "the refused ones never reached the secret handshake";
  EXPECT_EQ(plain.log().find("joined"), std::string::npos) << plain.log();
  EXPECT_NE(plain.log().find("(does the coordinator use TLS?)"), std::string::npos) << plain.log();
}

TEST_F(ClusterTls, PlainClientIsRefusedAndTheSecretIsStillRequired) {
  CoordinatorOptions o;
  o.secret = kSecret;
  o.tls = certs_->files("a", "ca");
  auto started = Coordinator::start(o);
  ASSERT_TRUE(started.ok()) << started.error().message;
  const std::uint16_t port = (*started)->port();

  {  // Plain BASP to a TLS port: the TLS side drops the connection.
    caf::actor_system_config cfg;
    configure_wire(cfg);
    caf::actor_system sys{cfg};
    auto c = connect_to(sys, "127.0.0.1", port, false, 10s);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("cannot join 127.0.0.1:" + std::to_string(port)),
              std::string::npos)
        << c.error().message;

    // A port that accepts but never speaks BASP: a timeout, not a hang.
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 4), 0);
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    auto silent = connect_to(sys, "127.0.0.1", ntohs(a.sin_port), false, 500ms);
    close(fd);
    ASSERT_FALSE(silent.ok());
    EXPECT_NE(silent.error().message.find("no answer within 500 ms"), std::string::npos)
        << silent.error().message;
  }

  // Over TLS with the cluster's CA, a client without the secret is still refused.
  caf::actor_system_config cfg;
  configure_wire(cfg);
  configure_transport(cfg, certs_->files("a", "ca"));
  caf::actor_system sys{cfg};
  auto coord = connect_to(sys, "127.0.0.1", port, true, 10s);
  ASSERT_TRUE(coord.ok()) << coord.error().message;
  caf::scoped_actor self{sys};
  NodeHello hello;
  hello.name = "no-secret";
  hello.nonce = std::string(64, 'a');
  std::optional<Challenge> challenge;
  self->request(*coord, 10s, hello_atom::value, hello)
      .receive([&](const Challenge& ch) { challenge = ch; }, [&](caf::error&) {});
  ASSERT_TRUE(challenge.has_value());
  bool refused = false;
  self->request(*coord, 10s, auth_atom::value, AuthProof{std::string(64, '0')})
      .receive([&](const Welcome&) {}, [&](caf::error&) { refused = true; });
  EXPECT_TRUE(refused);
  EXPECT_EQ((*started)->refused(), 1);
}

}  // namespace
}  // namespace agentrt::cluster
