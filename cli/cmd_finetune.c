/* cmd_finetune.c -- `l2h finetune`: deep hashing end to end (issue 17). A learned method trains
 * MobileNet-v1's last depthwise-separable block together with the hash layer, starting from
 * the .tflite weights dequantised to float, on the cached block inputs that `l2h features
 * --block-input` writes (the frozen layers run once). Writes an ordinary model file that
 * `l2h encode` / `l2h eval` apply to such cached rows. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MODEL "mobilenet-v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"

typedef struct ft_progress {
    FILE *log;
} ft_progress;

static int ft_progress_cb(const l2h_train_progress *p, void *user)
{
    ft_progress *c = user;
    char val[48] = "";
    if (p->val_map >= 0) snprintf(val, sizeof val, ", val mAP %.4f", p->val_map);
    cli_progress("finetune: epoch %zu/%zu, loss %.4f, %.1f ex/s, %.0f s%s", p->epoch, p->epochs,
                 p->loss, p->examples_per_s, p->seconds, val);
    if (c->log) {
        fprintf(c->log, "%zu,%.6f,", p->epoch, p->loss);
        if (p->val_map >= 0) fprintf(c->log, "%.6f,%.6f", p->val_map, p->val_map_tie);
        else fprintf(c->log, ",");
        fprintf(c->log, ",%.3f,%.3f\n", p->examples_per_s, p->seconds);
        fflush(c->log);
    }
    return 0;
}

int cmd_finetune(int argc, char **argv)
{
    cli_data_opts d;
    cli_data_defaults(&d);
    const char *method = NULL, *output = NULL, *model = NULL, *optimizer = NULL, *log = NULL;
    size_t bits = 32, epochs = 10, batch = 100, lr_step = 0;
    double lr = 0, last_lr_mult = 10, block_lr_mult = 1, val_fraction = 0, weight_decay = -1,
           lr_gamma = 0;
    bool json = false;
    cli_opt data_opts[CLI_DATA_N_OPTS];
    cli_data_options(&d, data_opts);
    const cli_opt own[] = {
        {"method", 'm', CLI_STR, &method, "mihash|hashnet|jmlh", "learned method (required)"},
        {"bits", 'b', CLI_SIZE, &bits, "B", "code length in bits (32)"},
        {"output", 'o', CLI_STR, &output, "FILE", "model file to write (required)"},
        {"tflite", 0, CLI_STR, &model, "FILE.tflite",
         "network the block comes from (default: $L2H_DATA_DIR or ../shared/data, + "
         DEFAULT_MODEL ")"},
        {"epochs", 'e', CLI_SIZE, &epochs, "N", "epochs (10)"},
        {"batch", 0, CLI_SIZE, &batch, "N", "mini-batch size (100)"},
        {"optimizer", 0, CLI_STR, &optimizer, "sgd|adam", "optimiser (the method's default)"},
        {"lr", 0, CLI_DOUBLE_NONNEG, &lr, "R",
         "base learning rate, the block's (0 = the method's default)"},
        {"lr-step", 0, CLI_SIZE, &lr_step, "N", "step schedule: epochs per decay (method's)"},
        {"lr-gamma", 0, CLI_DOUBLE_NONNEG, &lr_gamma, "G", "step schedule: factor (method's)"},
        {"weight-decay", 0, CLI_DOUBLE, &weight_decay, "W", "L2 weight decay (method's)"},
        {"last-lr-mult", 0, CLI_DOUBLE_NONNEG, &last_lr_mult, "M",
         "learning-rate multiplier of the hash layer (10)"},
        {"block-lr-mult", 0, CLI_DOUBLE_NONNEG, &block_lr_mult, "M",
         "learning-rate multiplier of the block (1; 0 = frozen block, hash layer only)"},
        {"val-fraction", 0, CLI_DOUBLE_NONNEG, &val_fraction, "F",
         "hold out this fraction of the training rows for validation mAP per epoch (0)"},
        {"log", 0, CLI_STR, &log, "FILE.csv", "per-epoch loss / validation mAP / seconds"},
        {"json", 0, CLI_FLAG, &json, NULL, "print the summary as JSON"},
    };
    const cli_group groups[] = {{data_opts, CLI_DATA_N_OPTS}, {own, CLI_COUNT(own)}};
    int r = cli_parse_groups(
        argc, argv, groups, CLI_COUNT(groups),
        "l2h finetune --data BLOCK.npy --labels LABELS.npy --method M --bits B -o MODEL",
        "Deep hashing end to end: trains MobileNet-v1's last depthwise-separable block (3x3 "
        "depthwise + 1x1 conv, ReLU6,\nthen the average pool) together with a hash layer on the "
        "training rows of the split, from the block inputs\nthat `l2h features --block-input "
        "BLOCK.npy` cached (the frozen layers run once). The block starts from the\n.tflite "
        "weights dequantised to float. `l2h eval --model MODEL --data BLOCK.npy --labels ...` "
        "evaluates it.",
        NULL, 0, NULL);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (!method) return cli_usage_error("finetune", "--method is required");
    if (!output) return cli_usage_error("finetune", "--output is required");
    if (strcmp(method, "mihash") && strcmp(method, "hashnet") && strcmp(method, "jmlh"))
        return cli_usage_error("finetune", "--method must be mihash, hashnet or jmlh");
    l2h_train_params p = l2h_train_method_params(method, bits);
    if (optimizer) {
        if (!strcmp(optimizer, "sgd")) p.optimizer = L2H_OPT_SGD;
        else if (!strcmp(optimizer, "adam")) p.optimizer = L2H_OPT_ADAM;
        else return cli_usage_error("finetune", "--optimizer must be sgd or adam");
        if (!(lr > 0)) p.lr = p.optimizer == L2H_OPT_ADAM ? 1e-3 : 0.1;
        if (p.optimizer == L2H_OPT_ADAM) p.schedule = L2H_SCHED_CONST;
    }
    if (lr > 0) p.lr = lr;
    if (lr_step) {
        p.schedule = L2H_SCHED_STEP;
        p.lr_step = lr_step;
    }
    if (lr_gamma > 0) p.lr_gamma = lr_gamma;
    if (weight_decay >= 0) p.weight_decay = weight_decay;
    p.epochs = epochs;
    p.batch = batch;
    p.last_lr_mult = last_lr_mult;
    p.val_fraction = val_fraction;
    p.seed = d.seed;
    p.center = 0;
    p.l2_normalize = 0;

    char model_buf[4096];
    if (!model) {
        const char *dir = getenv("L2H_DATA_DIR");
        snprintf(model_buf, sizeof model_buf, "%s/%s", dir && *dir ? dir : "../shared/data",
                 DEFAULT_MODEL);
        model = model_buf;
    }
    l2h_cnn *net = NULL;
    l2h_status st = l2h_cnn_load(model, &net);
    if (st != L2H_OK) return cli_fail(st, "loading the network");
    l2h_cnn_block bi;
    float *dw_w = NULL, *dw_b = NULL, *pw_w = NULL, *pw_b = NULL;
    st = l2h_cnn_last_block(net, &bi, NULL, NULL, NULL, NULL);
    if (st == L2H_OK) {
        dw_w = malloc(bi.channels * bi.kernel * bi.kernel * sizeof *dw_w);
        dw_b = malloc(bi.channels * sizeof *dw_b);
        pw_w = malloc(bi.out_channels * bi.channels * sizeof *pw_w);
        pw_b = malloc(bi.out_channels * sizeof *pw_b);
        if (dw_w && dw_b && pw_w && pw_b) st = l2h_cnn_last_block(net, NULL, dw_w, dw_b, pw_w, pw_b);
        else {
            fprintf(stderr, "l2h: error: out of memory for the block's weights\n");
            r = CLI_ERR;
        }
    }
    l2h_cnn_free(net);
    if (st != L2H_OK) r = cli_fail(st, "the network's last block");

    cli_data data = {0};
    bool loaded = false;
    const double t0 = cli_now();
    if (r == CLI_OK) {
        cli_progress("finetune: loading %s", d.data);
        r = cli_data_load(&d, false, &data);
        loaded = true;
        cli_progress_done();
    }
    ft_progress pc = {NULL};
    if (r == CLI_OK && log) {
        pc.log = cli_out_open(log);
        if (!pc.log) r = CLI_ERR;
        else fprintf(pc.log, "epoch,loss,val_map,val_map_tie,examples_per_s,seconds\n");
    }
    p.callback = ft_progress_cb;
    p.user = &pc;
    const l2h_finetune_block fb = {.channels = bi.channels,
                                   .height = bi.height,
                                   .width = bi.width,
                                   .in_scale = bi.in_scale,
                                   .kernel = bi.kernel,
                                   .stride = bi.stride,
                                   .pad = bi.pad,
                                   .out_channels = bi.out_channels,
                                   .dw_weight = dw_w,
                                   .dw_bias = dw_b,
                                   .pw_weight = pw_w,
                                   .pw_bias = pw_b,
                                   .block_lr_mult = block_lr_mult};
    l2h_model *m = NULL;
    const double t1 = cli_now();
    if (r == CLI_OK) {
        cli_progress("finetune: %s, %zu bits, on %zu rows of %zu values", method, bits,
                     l2h_dataset_n(data.train), l2h_dataset_dim(data.train));
        st = l2h_train_finetune(&m, data.train, &p, &fb);
        cli_progress_done();
        if (st != L2H_OK) r = cli_fail(st, method);
    }
    const double t2 = cli_now();
    if (pc.log && cli_out_close(pc.log) != CLI_OK && r == CLI_OK) r = CLI_ERR;
    if (r == CLI_OK) r = cli_record_split(&d, m);
    if (r == CLI_OK) {
        st = l2h_model_save(m, output);
        if (st != L2H_OK) r = cli_fail(st, "saving the model");
    }
    if (r == CLI_OK) {
        char qout[CLI_JSON_PATH_CAP];
        if (json)
            printf("{\"method\": \"%s\", \"bits\": %zu, \"dim\": %zu, \"train_rows\": %zu, "
                   "\"train_seconds\": %.3f, \"total_seconds\": %.3f, \"output\": \"%s\"}\n",
                   method, bits, l2h_model_dim(m), l2h_dataset_n(data.train), t2 - t1,
                   cli_now() - t0, cli_json_escape(output, qout, sizeof qout));
        else
            printf("fine-tuned %s, %zu bits, block + hash layer on %zu rows in %.2f s -> %s\n",
                   method, bits, l2h_dataset_n(data.train), t2 - t1, output);
    }
    l2h_model_free(m);
    if (loaded) cli_data_free(&data);
    free(dw_w);
    free(dw_b);
    free(pw_w);
    free(pw_b);
    return r;
}
