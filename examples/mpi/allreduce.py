"""Every rank contributes its rank number; the allreduce sum proves all ranks talked."""
import socket

from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
total = comm.allreduce(rank, op=MPI.SUM)
print(f"rank {rank}/{size} on {socket.gethostname()}: allreduce sum = {total}", flush=True)
comm.Barrier()
if rank == 0:
    expected = size * (size - 1) // 2
    print(f"allreduce {'OK' if total == expected else 'WRONG'}: {total} == {expected}", flush=True)
