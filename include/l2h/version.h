/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/version.h -- the library version: the single source of truth (CMake parses these lines).
 * Compare L2H_VERSION_NUMBER (what you compiled against) with l2h_version_number() (what you
 * linked) to detect a header/library mismatch. */
#ifndef L2H_VERSION_H
#define L2H_VERSION_H

#define L2H_VERSION_MAJOR 0
#define L2H_VERSION_MINOR 1
#define L2H_VERSION_PATCH 0
#define L2H_VERSION_NUMBER (L2H_VERSION_MAJOR * 10000 + L2H_VERSION_MINOR * 100 + L2H_VERSION_PATCH)

#endif
