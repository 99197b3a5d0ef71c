/* placeholder until the module has sources */ typedef int l2h_tmp_optim;
