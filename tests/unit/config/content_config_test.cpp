// tests/unit/config/content_config_test.cpp — redirect, rewrite, respond, error_pages and cors
// as the loader reads them: a full example read back, and each mistake with the exact
// "file:line:col: message" a user would see.
#include <gtest/gtest.h>
#include <re2/re2.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "config/loader.h"

namespace ballast::config {
namespace {

constexpr std::string_view kPools = R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001"}
)";

LoadResult load(std::string_view yaml) {
  return loadConfigText(std::string(yaml) + std::string(kPools), "c.yaml");
}

std::string allErrors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.format() + "\n";
  }
  return out;
}

void expectErrors(std::string_view yaml, const std::vector<std::string>& expected) {
  const LoadResult r = load(yaml);
  EXPECT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), expected.size()) << allErrors(r);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.errors[i].format(), expected[i]);
  }
}

// A page file for the test, removed with it.
class PageFile {
 public:
  explicit PageFile(const std::string& text) {
    char name[] = "/tmp/ballast-page-XXXXXX";
    const int fd = mkstemp(name);
    path_ = name;
    if (fd >= 0) {
      close(fd);
    }
    std::ofstream(path_) << text;
  }
  ~PageFile() { std::remove(path_.c_str()); }
  PageFile(const PageFile&) = delete;
  PageFile& operator=(const PageFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ContentConfig, ReadsEveryRuleBack) {
  const PageFile page("<h1>maintenance</h1>");
  const PageFile e404("not here");
  const std::string yaml = R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    error_pages: {pages: {404: )" +
                           e404.path() +
                           R"(}, content_type: text/html}
    cors: {origins: ["*"], methods: [GET]}
    routes:
      - name: down
        match: {path: /shop}
        respond: {status: 503, file: )" +
                           page.path() + R"(, headers: {Retry-After: "60"}}
      - name: moved
        match: {path: /old}
        redirect: {status: 308, regex: "^/old/(.*)$", to: "https://$host/new/$1"}
      - name: api
        match: {path: /api}
        rewrite: {prefix: /api, replace: "", host: internal}
        cors: {origins: ["https://a.example"], origin_regex: ["https://.*\\.b\\.example"], credentials: true, max_age: 1h, headers: [X-Token], expose_headers: [X-Trace]}
        error_pages: {pages: {502: )" +
                           e404.path() + R"(}, backend_errors: true}
        pool: app
      - name: open
        match: {path: /open}
        cors: off
        pool: app
)";
  const LoadResult r = load(yaml);
  ASSERT_TRUE(r.errors.empty()) << allErrors(r);
  const Listener& l = r.config->listeners[0];
  EXPECT_EQ(l.http.error_pages.pages.at(404).body, "not here");
  EXPECT_EQ(l.http.error_pages.content_type, "text/html");
  EXPECT_TRUE(l.http.cors.enabled);
  EXPECT_TRUE(l.http.cors.any_origin);
  EXPECT_EQ(l.http.cors.methods_joined, "GET");
  const Route& down = l.http.routes[0];
  ASSERT_TRUE(down.respond);
  EXPECT_EQ(down.respond->status, 503);
  EXPECT_EQ(down.respond->body, "<h1>maintenance</h1>");
  EXPECT_EQ(down.respond->file, page.path());
  EXPECT_EQ(down.respond->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(down.respond->headers,
            (std::vector<std::pair<std::string, std::string>>{{"Retry-After", "60"}}));
  const Route& moved = l.http.routes[1];
  ASSERT_TRUE(moved.redirect_to);
  EXPECT_EQ(moved.redirect_to->status, 308);
  EXPECT_EQ(moved.redirect_to->to, "https://$host/new/$1");
  ASSERT_NE(moved.redirect_to->compiled, nullptr);
  EXPECT_EQ(moved.redirect_to->compiled->NumberOfCapturingGroups(), 1);
  const Route& api = l.http.routes[2];
  ASSERT_TRUE(api.rewrite);
  EXPECT_EQ(api.rewrite->prefix, "/api");
  EXPECT_EQ(api.rewrite->replace, "");
  EXPECT_EQ(api.rewrite->host, "internal");
  ASSERT_TRUE(api.cors);
  EXPECT_EQ(api.cors->origins, std::vector<std::string>{"https://a.example"});
  EXPECT_EQ(api.cors->compiled.size(), 1U);
  EXPECT_TRUE(api.cors->credentials);
  EXPECT_EQ(api.cors->max_age_s, 3600U);
  EXPECT_EQ(api.cors->headers_joined, "X-Token");
  ASSERT_TRUE(api.error_pages);
  EXPECT_TRUE(api.error_pages->backend_errors);
  ASSERT_TRUE(l.http.routes[3].cors);
  EXPECT_FALSE(l.http.routes[3].cors->enabled);
}

TEST(ContentConfig, RedirectMistakes) {
  expectErrors(
      R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    routes:
      - {match: {path: /a}, redirect: {status: 300, to: /b}}
      - {match: {path: /c}, redirect: {regex: "(", to: /d}}
      - {match: {path: /e}, redirect: {status: 302}}
      - {match: {path: /f}, redirect: {to: "/g/$1"}}
)",
      {"c.yaml:6:48: status: a redirect is 301, 302, 303, 307 or 308, got 300",
       "c.yaml:7:47: regex: missing ): (", "c.yaml:8:39: redirect is missing required key \"to\"",
       "c.yaml:9:44: to: $1 needs a regex with captures"});
}

TEST(ContentConfig, RewriteMistakes) {
  expectErrors(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    routes:
      - {match: {path: /a}, rewrite: {prefix: /a, regex: "x", replace: /}, pool: app}
      - {match: {path: /b}, rewrite: {prefix: b, replace: /}, pool: app}
      - {match: {path: /c}, rewrite: {prefix: /c}, pool: app}
      - {match: {path: /d}, rewrite: {regex: "^/d/(.*)$", replace: "/e/$2"}, pool: app}
      - {match: {path: /f}, rewrite: {}, pool: app}
)",
               {"c.yaml:6:51: rewrite: prefix and regex exclude each other; choose one",
                "c.yaml:7:47: prefix: expected a path prefix starting with '/', got \"b\"",
                "c.yaml:8:38: rewrite is missing required key \"replace\"",
                "c.yaml:9:68: replace: $2: the regex has only 1 capture group(s)",
                "c.yaml:10:38: rewrite: expected prefix, regex or host"});
}

TEST(ContentConfig, RespondAndErrorPageMistakes) {
  expectErrors(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    error_pages: {pages: {200: /nonexistent/page.html}}
    routes:
      - {match: {path: /a}, respond: {body: x, file: /tmp/x}}
      - {match: {path: /b}, respond: {status: 700}}
      - {match: {path: /c}, respond: {headers: {Content-Length: "5"}}}
)",
               {"c.yaml:5:27: status: expected an integer from 400 to 599, got \"200\"",
                "c.yaml:5:32: pages.200: cannot read /nonexistent/page.html: No such file or "
                "directory",
                "c.yaml:7:48: respond: body and file exclude each other; choose one",
                "c.yaml:8:47: status: expected an integer from 200 to 599, got \"700\"",
                "c.yaml:9:49: headers: \"Content-Length\" is written by Ballast"});
}

TEST(ContentConfig, CorsMistakes) {
  expectErrors(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    cors: {origins: ["*"], credentials: true}
    routes:
      - {match: {path: /a}, cors: {origins: ["app.example"]}, pool: app}
      - {match: {path: /b}, cors: {methods: [GET]}, pool: app}
      - {match: {path: /c}, cors: {origins: ["https://c"], max_age: 48h}, pool: app}
)",
               {"c.yaml:6:41: credentials: browsers refuse credentials with origins \"*\"; "
                "list the origins",
                "c.yaml:8:46: origin: expected an origin such as https://app.example.com, or "
                "\"*\", got \"app.example\"",
                "c.yaml:9:35: cors is missing required key \"origins\" (or origin_regex)",
                "c.yaml:10:69: max_age: at most 24h (browsers cap it lower still)"});
}

TEST(ContentConfig, CompressDefaultsAndSettings) {
  const LoadResult r = load(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    compress: on
    routes:
      - {match: {path: /a}, compress: off, pool: app}
      - match: {path: /b}
        compress: {algorithms: [gzip, br], types: [Text/*, application/json], min_size: 4KiB, level: 9}
        pool: app
      - {match: {path: /c}, compress: {level: {zstd: 19, br: 0}}, pool: app}
)");
  ASSERT_TRUE(r.errors.empty()) << allErrors(r);
  const Listener& l = r.config->listeners[0];
  using compress::Encoding;
  EXPECT_TRUE(l.http.compress.enabled);
  EXPECT_EQ(l.http.compress.algorithms,
            (std::vector<Encoding>{Encoding::kZstd, Encoding::kBrotli, Encoding::kGzip}));
  EXPECT_EQ(l.http.compress.min_size, 1024U);
  EXPECT_FALSE(l.http.routes[0].compress->enabled);
  const CompressPolicy& b = *l.http.routes[1].compress;
  EXPECT_EQ(b.algorithms, (std::vector<Encoding>{Encoding::kGzip, Encoding::kBrotli}));
  EXPECT_EQ(b.types, (std::vector<std::string>{"text/*", "application/json"}));
  EXPECT_EQ(b.min_size, 4096U);
  EXPECT_EQ(b.level[static_cast<size_t>(Encoding::kGzip)], 9);
  EXPECT_EQ(b.level[static_cast<size_t>(Encoding::kBrotli)], 9);
  const CompressPolicy& c = *l.http.routes[2].compress;
  EXPECT_EQ(c.level[static_cast<size_t>(Encoding::kZstd)], 19);
  EXPECT_EQ(c.level[static_cast<size_t>(Encoding::kBrotli)], 0);
  EXPECT_EQ(c.level[static_cast<size_t>(Encoding::kGzip)], 6);
}

TEST(ContentConfig, CompressMistakes) {
  expectErrors(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    routes:
      - {match: {path: /a}, compress: {algorithms: [deflate, gzip, gzip]}, pool: app}
      - {match: {path: /b}, compress: {types: [text]}, pool: app}
      - {match: {path: /c}, compress: {level: 12}, pool: app}
      - {match: {path: /d}, compress: {level: {gzip: 10, lz4: 1}}, pool: app}
)",
               {"c.yaml:7:53: algorithm: expected zstd, br or gzip, got \"deflate\"",
                "c.yaml:7:68: algorithms: \"gzip\" is listed twice",
                "c.yaml:8:48: type: expected a media type such as text/html or text/*, got "
                "\"text\"",
                "c.yaml:9:47: level: expected an integer from 1 to 9, got \"12\"",
                "c.yaml:10:54: gzip: expected an integer from 1 to 9, got \"10\"",
                "c.yaml:10:58: level: expected zstd, br or gzip, got \"lz4\""});
}

}  // namespace
}  // namespace ballast::config
