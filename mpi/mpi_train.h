/* mpi_train.h -- `l2h-mpi train`: data-parallel training over MPI (mpi_train.c). */
#ifndef L2H_MPI_TRAIN_H
#define L2H_MPI_TRAIN_H

/* argv[0] = "train"; every rank calls it. Returns the exit code (0, 1 error, 2 usage). */
int mpi_train_main(int argc, char **argv, int rank, int size);

#endif
