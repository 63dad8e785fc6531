/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The models compiled into the RPC firmware: a generated models.c defines one mtvm_model_t per
 * model (see the runtime documentation) and this list, which rpc_main.c registers with the RPC
 * server at start-up. The names are the same as the host template's, so the same glue serves both.
 */
#ifndef MTVM_QEMU_MODELS_H_
#define MTVM_QEMU_MODELS_H_

#include <stddef.h>

#include <microtvm/model.h>

extern const mtvm_model_t* const microtvm_project_models[];
extern const size_t microtvm_project_model_count;

#endif /* MTVM_QEMU_MODELS_H_ */
