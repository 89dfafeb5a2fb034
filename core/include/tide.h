/* tide: the whole public C API. */
#ifndef TIDE_H
#define TIDE_H
#include "tide/common.h"
#include "tide/error.h"
#include "tide/value.h"
#include "tide/result.h"
#include "tide/conn.h"
#include "tide/pool.h"
#include "tide/loop.h"
#include "tide/schema.h"
#include "tide/sql.h"
#include "tide/diff.h"
#endif
