#pragma once

/// Umbrella header: everything an application that embeds Sluice needs.

#include <sluice/config/loader.hpp>
#include <sluice/core/batch.hpp>
#include <sluice/core/column.hpp>
#include <sluice/core/data_type.hpp>
#include <sluice/core/duration.hpp>
#include <sluice/core/error.hpp>
#include <sluice/core/log.hpp>
#include <sluice/core/metrics.hpp>
#include <sluice/core/schema.hpp>
#include <sluice/graph/acknowledgement.hpp>
#include <sluice/graph/pipeline.hpp>
#include <sluice/operator/batching.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/operator/operator.hpp>
#include <sluice/operator/option_spec.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/operator/registry.hpp>
