/* cli/plot.c — PNG plots through gnuplot (Debian's gnuplot-nox), shared by the commands that draw
 * (queries histogram, train, eval linear-probe). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

cc_status cli_plot(const char *png, const char *fmt, ...)
{
    FILE *gp = popen("gnuplot", "w");
    if (!gp)
        return cc_fail(CC_E_IO, "cannot run gnuplot (install gnuplot-nox): %s", strerror(errno));
    fprintf(gp, "set terminal pngcairo size 900,500\nset output '%s'\n", png);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(gp, fmt, ap);
    va_end(ap);
    int rc = pclose(gp);
    if (rc != 0)
        return cc_fail(CC_E_IO, "gnuplot failed (exit %d) drawing %s (install gnuplot-nox)", rc,
                       png);
    return CC_OK;
}
