// src/config/discovery_kubernetes_section.h — reads `discovery: {kubernetes: {...}}`: which
// Service's EndpointSlices feed the pool and how to reach the API server.
#pragma once

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Fills pool.discovery.kubernetes from `field`, reporting problems at their line:column.
void readKubernetesDiscovery(FileReader& file, const Field& field, Pool& pool);

}  // namespace ballast::config
