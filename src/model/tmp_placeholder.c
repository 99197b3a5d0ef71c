/* placeholder */ typedef int l2h_tmp_model;
