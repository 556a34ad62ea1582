/* Standby placement (docs/scale-out.md, "Standbys"): which partitions of a
 * view this instance keeps hot copies of.
 *
 * The standby of a partition goes where the group's assignor will move the
 * partition if its owner dies, so a failover finds the state already
 * there. eddy's consumers use the range assignor, which sorts the group's
 * members by member id and gives each a contiguous range of partitions;
 * every instance publishes its member id per view (members topic), so the
 * assignment among the members minus the owner can be computed here. With
 * N replicas: the instance that would get the partition, then the one that
 * would get it if that one died too, and so on. */
#ifndef ED_SERVER_STANDBY_H
#define ED_SERVER_STANDBY_H

#include <stdint.h>

#include "server/cluster.h"

/* The member (index into @p members, which must be sorted) the range
 * assignor gives partition @p p of @p nparts among @p m members, skipping
 * those with skip[i] set. -1 when all are skipped. */
int ed_standby_range_owner(int32_t p, int32_t nparts, const uint8_t *skip, int m);

/* Fills want[0..nparts) for the instance @p self_id: 1 where it should keep
 * a standby of view @p view with @p replicas replicas, per map @p c (live
 * instances with their member ids and owned partitions). Returns ED_OK or
 * ED_ENOMEM. */
int ed_standby_plan(const ed_cluster_t *c, const char *view, int32_t nparts, const char *self_id,
                    int replicas, uint8_t *want);

#endif
