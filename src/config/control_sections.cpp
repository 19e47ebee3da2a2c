// src/config/control_sections.cpp — `admin:`, `metrics:` and `reload:`.
#include "config/plane_sections.h"

namespace ballast::config {

void readControlSections(FileReader& /*file*/, const MapReader& /*top*/, Config& /*config*/) {}

}  // namespace ballast::config
