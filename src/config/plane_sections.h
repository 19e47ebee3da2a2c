// src/config/plane_sections.h — readers for the top-level sections of the control, kernel and
// uplink planes. Each is called once per file, top file first, then its includes depth first:
// lists append across files; a mapping section may be set by one file only (a second one is
// reported at its key).
#pragma once

#include <array>
#include <string_view>

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

inline constexpr std::array<std::string_view, 3> kControlTopKeys = {"admin", "metrics", "reload"};
inline constexpr std::array<std::string_view, 2> kKernelTopKeys = {"kernel", "virtual_services"};
inline constexpr std::array<std::string_view, 3> kUplinkTopKeys = {"uplinks", "uplink_policy",
                                                                   "lan_interfaces"};
inline constexpr std::array<std::string_view, 1> kBgpTopKeys = {"bgp"};

void readControlSections(FileReader& file, const MapReader& top, Config& config);
void readKernelSections(FileReader& file, const MapReader& top, Config& config);
void readUplinkSections(FileReader& file, const MapReader& top, Config& config);
void readBgpSections(FileReader& file, const MapReader& top, Config& config);

}  // namespace ballast::config
