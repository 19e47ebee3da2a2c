// src/config/group_sections.cpp — a pool's `groups:` (active–passive failover groups) and
// `failback:`. Members are named by the address string their backend entry gives.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "config/sections.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kGroupKeys = {"name"sv, "priority"sv, "min_healthy"sv, "backends"sv};
constexpr std::array<Choice<Failback>, 2> kFailbacks = {{
    {"auto", Failback::kAuto},
    {"manual", Failback::kManual},
}};
constexpr uint64_t kMaxGroupPriority = 1000000;

// `member_of[i]`: the group backend i joined, or -1.
void readGroup(FileReader& file, const Field& item, Pool& pool, std::vector<int>& member_of) {
  const MapReader map(file, item, "group", kGroupKeys);
  if (!map.ok()) {
    return;
  }
  FailoverGroup group;
  if (const Field* f = map.require(file, "name")) {
    assign(group.name, readName(file, *f));
    for (const auto& other : pool.groups) {
      if (other.name == group.name) {
        file.error(f->valueMark(), "group \"" + group.name + "\" is defined twice");
      }
    }
  }
  if (const Field* f = map.require(file, "priority")) {
    assign(group.priority, readUnsigned(file, *f, 0, kMaxGroupPriority));
    for (const auto& other : pool.groups) {
      if (other.priority == group.priority) {
        file.error(f->valueMark(), "group \"" + group.name + "\" has the priority of group \"" +
                                       other.name + "\"; priorities must differ");
      }
    }
  }
  const auto index = static_cast<int>(pool.groups.size());
  if (const Field* f = map.require(file, "backends")) {
    for (const Field& member : listItems(file, *f, "group backend")) {
      const auto address = readAddress(file, member);
      if (!address) {
        continue;
      }
      const auto it = std::find_if(pool.backends.begin(), pool.backends.end(),
                                   [&](const Backend& b) { return b.address == *address; });
      if (it == pool.backends.end()) {
        file.error(member.valueMark(), "group \"" + group.name + "\": " + address->toString() +
                                           " is not a backend of pool \"" + pool.name + "\"");
        continue;
      }
      const auto b = static_cast<size_t>(it - pool.backends.begin());
      if (member_of[b] >= 0) {
        file.error(member.valueMark(),
                   "backend " + address->toString() + " is already in group \"" +
                       (member_of[b] == index ? group.name : pool.groups[member_of[b]].name) +
                       "\"; a backend belongs to one group");
        continue;
      }
      member_of[b] = index;
      group.backends.push_back(static_cast<uint32_t>(b));
    }
    if (group.backends.empty()) {
      file.error(f->valueMark(), "group \"" + group.name + "\" has no backends");
    }
  }
  if (const Field* f = map.find("min_healthy")) {
    const auto size = std::max<uint64_t>(group.backends.size(), 1);
    assign(group.min_healthy, readUnsigned(file, *f, 1, size));
  }
  pool.groups.push_back(std::move(group));
}

}  // namespace

void readGroups(FileReader& file, const Field& field, const Field* failback, Pool& pool) {
  if (!pool.dns_backends.empty() || !pool.discovery.file.empty() ||
      !pool.discovery.dns_srv.empty() || pool.discovery.hasKubernetes()) {
    file.error(field.key_mark, "pool \"" + pool.name +
                                   "\": groups need backends listed by IP address (not names "
                                   "or discovery)");
    return;
  }
  for (const auto& b : pool.backends) {
    if (b.backup) {
      file.error(field.key_mark, "pool \"" + pool.name +
                                     "\": groups and backup backends are exclusive (a lower "
                                     "priority group is the backup)");
      return;
    }
  }
  std::vector<int> member_of(pool.backends.size(), -1);
  for (const Field& item : listItems(file, field, "group")) {
    readGroup(file, item, pool, member_of);
  }
  for (size_t i = 0; i < pool.backends.size(); ++i) {
    if (member_of[i] < 0) {
      file.error(field.key_mark, "pool \"" + pool.name + "\": backend " +
                                     pool.backends[i].address.toString() + " is in no group");
    }
  }
  std::stable_sort(
      pool.groups.begin(), pool.groups.end(),
      [](const FailoverGroup& a, const FailoverGroup& b) { return a.priority < b.priority; });
  if (failback != nullptr) {
    assign(pool.failback, readChoice<Failback>(file, *failback, kFailbacks));
  }
}

}  // namespace ballast::config
