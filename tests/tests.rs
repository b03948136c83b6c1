mod huawei;
mod util;
