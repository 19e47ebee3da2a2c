// src/cli/shell.cpp — the shell's line editing, completion and command loop.
#include "cli/shell.h"

#include <histedit.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "cli/admin_client.h"
#include "cli/control_commands.h"

namespace ballast::cli {
namespace {

using Pools = std::vector<std::pair<std::string, std::vector<std::string>>>;

constexpr int kHistorySize = 1000;

std::vector<std::string> splitWords(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  std::string w;
  while (in >> w) {
    words.push_back(w);
  }
  return words;
}

class Shell {
 public:
  explicit Shell(std::string socket) : socket_(std::move(socket)) {}

  int run() {
    if (isatty(STDIN_FILENO) == 0) {
      return runPlain();  // piped: no line editing, same commands
    }
    EditLine* el = el_init("ballast", stdin, stdout, stderr);
    History* hist = history_init();
    HistEvent ev{};
    history(hist, &ev, H_SETSIZE, kHistorySize);
    const std::string hist_file = historyFile();
    if (!hist_file.empty()) {
      history(hist, &ev, H_LOAD, hist_file.c_str());
    }
    el_set(el, EL_CLIENTDATA, this);
    el_set(el, EL_PROMPT, &Shell::prompt);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_HIST, history, hist);
    el_set(el, EL_ADDFN, "ballast-complete", "Complete a word", &Shell::onTab);
    el_set(el, EL_BIND, "^I", "ballast-complete", nullptr);
    el_set(el, EL_ADDFN, "ballast-help", "What may come next", &Shell::onQuestion);
    el_set(el, EL_BIND, "?", "ballast-help", nullptr);
    std::printf("ballast shell — admin socket %s. Tab completes, ? lists, 'exit' leaves.\n",
                socket_.c_str());
    int last = 0;
    for (;;) {
      int count = 0;
      const char* raw = el_gets(el, &count);
      if (raw == nullptr || count <= 0) {
        std::printf("\n");
        break;
      }
      std::string line(raw);
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.pop_back();
      }
      const auto words = splitWords(line);
      if (words.empty()) {
        continue;
      }
      history(hist, &ev, H_ENTER, line.c_str());
      if (words[0] == "exit" || words[0] == "quit") {
        last = 0;  // leaving on purpose is a success, whatever the last command did
        break;
      }
      last = execute(words);
    }
    if (!hist_file.empty()) {
      history(hist, &ev, H_SAVE, hist_file.c_str());
    }
    history_end(hist);
    el_end(el);
    return last;
  }

 private:
  static std::string historyFile() {
    const char* home = std::getenv("HOME");
    return home != nullptr && *home != '\0' ? std::string(home) + "/.ballast_history" : "";
  }

  int runPlain() {
    char* buf = nullptr;
    size_t cap = 0;
    int last = 0;
    while (getline(&buf, &cap, stdin) > 0) {
      const auto words = splitWords(buf);
      if (words.empty()) {
        continue;
      }
      if (words[0] == "exit" || words[0] == "quit") {
        break;
      }
      last = execute(words);
    }
    std::free(buf);  // NOLINT(cppcoreguidelines-no-malloc): getline's buffer
    return last;
  }

  int execute(const std::vector<std::string>& words) {
    if (words[0] == "help") {
      printCandidates(shellCandidates({}, {}));
      return 0;
    }
    bool json = false;
    std::vector<std::string> rest;
    for (const auto& w : words) {
      if (w == "--json") {
        json = true;
      } else {
        rest.push_back(w);
      }
    }
    if (!isControlCommand(rest[0]) || rest[0] == "shell" || rest[0] == "doctor") {
      std::printf("%% unknown command '%s'; ? lists commands\n", rest[0].c_str());
      return 2;
    }
    const int rc = runControlWords(rest, socket_, json);
    std::fflush(stdout);
    return rc;
  }

  Pools fetchPools() {
    Pools pools;
    std::string error;
    auto reply = adminRequest(socket_, "GET", "/api/v1/pools", "", &error);
    if (!reply || !reply->json.is_object() || !reply->json.contains("pools")) {
      return pools;
    }
    for (const auto& p : reply->json["pools"]) {
      std::vector<std::string> backends;
      for (const auto& b : p["backends"]) {
        backends.push_back(b.value("address", ""));
      }
      pools.emplace_back(p.value("name", ""), std::move(backends));
    }
    return pools;
  }

  static void printCandidates(const std::vector<ShellCandidate>& c) {
    for (const auto& x : c) {
      std::printf("  %-24s %s\n", x.word.c_str(), x.help.c_str());
    }
  }

  // The complete words before the cursor and the partial one under it.
  static void lineState(EditLine* el, std::vector<std::string>& words, std::string& partial) {
    const LineInfo* li = el_line(el);
    const std::string before(li->buffer, li->cursor);
    words = splitWords(before);
    partial.clear();
    if (!before.empty() && before.back() != ' ' && !words.empty()) {
      partial = words.back();
      words.pop_back();
    }
  }

  static Shell& self(EditLine* el) {
    void* data = nullptr;
    el_get(el, EL_CLIENTDATA, &data);
    return *static_cast<Shell*>(data);
  }

  static unsigned char onTab(EditLine* el, int /*ch*/) {
    std::vector<std::string> words;
    std::string partial;
    lineState(el, words, partial);
    const auto all = shellCandidates(words, self(el).fetchPools());
    std::vector<ShellCandidate> match;
    for (const auto& c : all) {
      if (c.word.starts_with(partial) && !c.word.starts_with('<')) {
        match.push_back(c);
      }
    }
    if (match.empty()) {
      return CC_REFRESH_BEEP;
    }
    if (match.size() == 1) {
      const std::string rest = match[0].word.substr(partial.size()) + " ";
      el_insertstr(el, rest.c_str());
      return CC_REFRESH;
    }
    // Several: extend to their common prefix, then list them.
    std::string common = match[0].word;
    for (const auto& c : match) {
      size_t i = 0;
      while (i < common.size() && i < c.word.size() && common[i] == c.word[i]) {
        ++i;
      }
      common.resize(i);
    }
    if (common.size() > partial.size()) {
      el_insertstr(el, common.substr(partial.size()).c_str());
      return CC_REFRESH;
    }
    std::printf("\n");
    printCandidates(match);
    return CC_REDISPLAY;
  }

  static unsigned char onQuestion(EditLine* el, int /*ch*/) {
    std::vector<std::string> words;
    std::string partial;
    lineState(el, words, partial);
    std::printf("?\n");
    auto all = shellCandidates(words, self(el).fetchPools());
    std::vector<ShellCandidate> match;
    for (const auto& c : all) {
      if (c.word.starts_with(partial) || c.word.starts_with('<')) {
        match.push_back(c);
      }
    }
    if (match.empty()) {
      std::printf("  <cr>                     run the command\n");
    }
    printCandidates(match);
    return CC_REDISPLAY;
  }

  static char* prompt(EditLine* /*el*/) {
    static char text[] = "ballast> ";
    return text;
  }

  std::string socket_;
};

}  // namespace

std::vector<ShellCandidate> shellCandidates(const std::vector<std::string>& w, const Pools& pools) {
  if (w.empty()) {
    return {{"show", "show status, config, listeners, pools, backends, events"},
            {"backend", "add, remove, reweight, drain, enable or disable a backend"},
            {"pool", "pool failback POOL: back to the best failover group"},
            {"status", "the daemon's status"},
            {"reload", "re-read the config file (like SIGHUP)"},
            {"drain", "close every listener before maintenance"},
            {"help", "list commands"},
            {"exit", "leave the shell"}};
  }
  std::vector<ShellCandidate> poolNames;
  for (const auto& [name, backends] : pools) {
    poolNames.push_back({name, std::to_string(backends.size()) + " backends"});
  }
  if (w[0] == "show") {
    if (w.size() == 1) {
      return {{"status", "version, uptime, generation, workers"},
              {"config", "the effective configuration (JSON)"},
              {"listeners", "listeners and their traffic"},
              {"certificates", "each https listener's certificates (file or ACME)"},
              {"pools", "pools and how many backends are up"},
              {"backends", "every backend, or one pool's: show backends POOL"},
              {"events", "the audit trail"},
              {"services", "kernel plane virtual services"},
              {"uplinks", "uplink plane state"},
              {"bgp", "VIPs announced over BGP"}};
    }
    if (w.size() == 2 && w[1] == "backends") {
      return poolNames;
    }
    return {};
  }
  if (w[0] == "pool") {
    if (w.size() == 1) {
      return {{"failback", "back to the best failover group (failback: manual)"}};
    }
    return w.size() == 2 && w[1] == "failback" ? poolNames : std::vector<ShellCandidate>{};
  }
  if (w[0] == "backend") {
    if (w.size() == 1) {
      return {{"add", "backend add POOL ADDRESS [WEIGHT]"},
              {"remove", "backend remove POOL ADDRESS"},
              {"weight", "backend weight POOL ADDRESS WEIGHT"},
              {"drain", "no new connections; open ones finish"},
              {"enable", "back in service"},
              {"disable", "out of service (maintenance)"}};
    }
    if (w.size() == 2) {
      return poolNames;
    }
    if (w.size() == 3) {
      if (w[1] == "add") {
        return {{"<host:port>", "the new backend's address"}};
      }
      for (const auto& [name, backends] : pools) {
        if (name == w[2]) {
          std::vector<ShellCandidate> out;
          for (const auto& b : backends) {
            out.push_back({b, "backend of " + name});
          }
          return out;
        }
      }
      return {};
    }
    if (w.size() == 4 && (w[1] == "weight" || w[1] == "add")) {
      return {{"<0-1000>", "weight"}};
    }
  }
  return {};
}

int runShell(const std::string& socket) {
  Shell shell(socket);
  return shell.run();
}

}  // namespace ballast::cli
