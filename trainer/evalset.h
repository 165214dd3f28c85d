/* trainer/evalset.h — labelled evaluation sets for zero-shot and linear-probe evaluation.
 *
 * Two inputs give the same result, image features (N,E) with a class index per image:
 *
 * - An image folder with a labels file: a TSV whose lines starting with '#' are comments, whose
 *   first other line is a header naming the columns, and whose rows give an image path (relative
 *   to the folder, or absolute) in the file column and its class name in the label column
 *   (mkweb's DIR/eval/labels.tsv: `--label-column shape`, `colour` or `colour_shape`). The
 *   classes, in order, come from a classes file (one name per line; blank lines and lines
 *   starting with '#' skipped) or else are the sorted distinct labels; rows whose label is not a
 *   class are skipped and counted.
 * - A shard manifest, labelled from captions: a record's class is the one whose name occurs in
 *   its caption as a whole word or phrase (ASCII case-insensitive; the characters around it are
 *   not letters or digits). Records where no class or more than one class occurs are skipped and
 *   counted, so "a red circle" with classes {circle, red circle} is skipped rather than guessed.
 *
 * Images go through the evaluation transform (loader_image, augment 0) and
 * clip_model_encode_images in batches of the model's max batch.
 *
 * Threads: one caller at a time per model; the rest is reentrant. Memory: everything returned is
 * owned by the caller (evalset_free, free).
 */
#ifndef CC_EVALSET_H
#define CC_EVALSET_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "trainer/model.h"

/* Most classes and images a set may hold. */
#define EVALSET_MAX_CLASSES 100000
#define EVALSET_MAX_IMAGES 10000000

/* A labelled image folder (files and labels, no pixels yet). */
typedef struct evalset {
    size_t n; /* images */
    char **files; /* (n) full paths */
    int *labels; /* (n) in [0,C) */
    int C;
    char **classes; /* (C) names */
    uint64_t unlabelled; /* rows skipped because their label is not a class */
} evalset;

/* Reads a class list: one name per line, trimmed of surrounding white space; blank lines and
 * '#' lines skipped. *names (C strings) is malloc'd; free with evalset_free_names. CC_E_NOTFOUND,
 * CC_E_IO, CC_E_FORMAT (no name, a duplicate name, a name with a tab), CC_E_LIMIT, CC_E_NOMEM. */
cc_status evalset_read_names(const char *path, char ***names, int *C);
void evalset_free_names(char **names, int C); /* accepts NULL */

/* Reads labels_path (format above) for the images under dir. classes_path may be NULL (classes =
 * sorted distinct labels). CC_E_NOTFOUND or CC_E_IO (unreadable file), CC_E_FORMAT (no header, a
 * named column missing, a short row; the message names the file, line and the columns there are),
 * CC_E_INVAL (no image left), CC_E_LIMIT, CC_E_NOMEM. */
cc_status evalset_load(const char *dir, const char *labels_path, const char *file_column,
                       const char *label_column, const char *classes_path, evalset **out);
void evalset_free(evalset *s); /* accepts NULL */

/* Features of the set's images: *feat (n × E floats) and *labels (n) malloc'd, *n the images that
 * decoded, in set order; those that do not (unreadable, not an image) are skipped, counted in
 * *skipped and the first few logged. CC_E_INVAL when none is left, CC_E_NOMEM. */
cc_status evalset_embed(clip_model *m, const evalset *s, float **feat, int **labels, size_t *n,
                        uint64_t *skipped);

/* The class of caption among names (C): the index of the only name occurring in it as a whole
 * word or phrase, -1 for none, -2 for several. */
int evalset_caption_class(const char *caption, const char *const *names, int C);

/* Features of up to max_n (0 = all) records of a shard manifest labelled by their captions
 * (rule above): *feat, *labels, *n as evalset_embed. *unlabelled counts the records with no or
 * several classes, *skipped those whose image does not decode. CC_E_INVAL when none is left,
 * shard errors otherwise. */
cc_status evalset_embed_manifest(clip_model *m, const char *manifest, const char *const *names,
                                 int C, size_t max_n, float **feat, int **labels, size_t *n,
                                 uint64_t *unlabelled, uint64_t *skipped);

#endif
